#include "internal/llm/llama_sampling.h"

#include <cmath>
#include <exception>

#include "internal/llm/argmax.h"

namespace modeld::llm {
namespace {

// Penalties look back this many tokens, like llama-server's default.
constexpr int32_t kPenaltyLastN = 64;

}  // namespace

TokenSampler::TokenSampler(const llama_vocab* vocab, const SamplingParams& p,
                           const std::string& grammar)
    : vocab_(vocab), n_vocab_(llama_vocab_n_tokens(vocab)) {
  if (!grammar.empty()) {
    grammar_.reset(llama_sampler_init_grammar(vocab, grammar.c_str(), "root"));
    cur_.resize(static_cast<size_t>(n_vocab_));
  }
  InitChain(p);
}

TokenSampler::TokenSampler(const llama_vocab* vocab, const SamplingParams& p,
                           const PreparedPrompt& prompt)
    : vocab_(vocab), n_vocab_(llama_vocab_n_tokens(vocab)) {
  if (!prompt.grammar.empty()) {
    if (prompt.grammar_lazy) {
      std::vector<const char*> patterns;
      patterns.reserve(prompt.trigger_patterns.size());
      for (const std::string& pt : prompt.trigger_patterns) patterns.push_back(pt.c_str());
      try {  // a trigger pattern llama.cpp's std::regex rejects throws
        grammar_.reset(llama_sampler_init_grammar_lazy_patterns(
            vocab, prompt.grammar.c_str(), "root", patterns.data(), patterns.size(),
            prompt.trigger_tokens.data(), prompt.trigger_tokens.size()));
      } catch (const std::exception&) {
        grammar_.reset();  // Sample then reports that the grammar allows nothing
      }
    } else {
      grammar_.reset(llama_sampler_init_grammar(vocab, prompt.grammar.c_str(), "root"));
    }
    cur_.resize(static_cast<size_t>(n_vocab_));
  }
  InitChain(p);
}

void TokenSampler::InitChain(const SamplingParams& p) {
  if (p.temperature <= 0.0f) return;  // greedy: argmax, no chain
  llama_sampler_chain_params cp = llama_sampler_chain_default_params();
  cp.no_perf = true;
  chain_.reset(llama_sampler_chain_init(cp));
  llama_sampler* c = chain_.get();
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    llama_sampler_chain_add(
        c, llama_sampler_init_penalties(n_vocab_, kPenaltyLastN, 1.0f, p.frequency_penalty,
                                        p.presence_penalty));
  }
  if (p.top_k > 0) llama_sampler_chain_add(c, llama_sampler_init_top_k(p.top_k));
  if (p.top_p > 0.0f && p.top_p < 1.0f) {
    llama_sampler_chain_add(c, llama_sampler_init_top_p(p.top_p, 1));
  }
  if (p.min_p > 0.0f) llama_sampler_chain_add(c, llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(c, llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(c, llama_sampler_init_dist(p.seed));
}

llama_token TokenSampler::Sample(llama_context* ctx, int32_t idx) {
  const float* logits = llama_get_logits_ith(ctx, idx);
  if (logits == nullptr) return LLAMA_TOKEN_NULL;
  if (!cur_.empty()) return SampleConstrained(logits);
  if (chain_ != nullptr) return llama_sampler_sample(chain_.get(), ctx, idx);
  return Argmax(logits, n_vocab_);
}

llama_token TokenSampler::Pick(const float* logits, llama_sampler* filter) {
  for (llama_token t = 0; t < n_vocab_; ++t) cur_[static_cast<size_t>(t)] = {t, logits[t], 0.0f};
  llama_token_data_array arr{cur_.data(), cur_.size(), -1, false};
  if (filter != nullptr) llama_sampler_apply(filter, &arr);
  if (chain_ != nullptr) {
    llama_sampler_apply(chain_.get(), &arr);
    if (arr.selected < 0 || static_cast<size_t>(arr.selected) >= arr.size) return LLAMA_TOKEN_NULL;
    const llama_token_data& d = arr.data[arr.selected];
    return std::isinf(d.logit) && d.logit < 0 ? LLAMA_TOKEN_NULL : d.id;
  }
  llama_token best = LLAMA_TOKEN_NULL;
  float best_logit = -INFINITY;
  for (size_t i = 0; i < arr.size; ++i) {
    if (arr.data[i].logit > best_logit) {
      best_logit = arr.data[i].logit;
      best = arr.data[i].id;
    }
  }
  return best;
}

llama_token TokenSampler::SampleConstrained(const float* logits) {
  if (grammar_ == nullptr) return LLAMA_TOKEN_NULL;
  try {
    llama_token token = Pick(logits, nullptr);
    if (token != LLAMA_TOKEN_NULL) {
      llama_token_data one{token, logits[token], 0.0f};
      llama_token_data_array single{&one, 1, -1, false};
      llama_sampler_apply(grammar_.get(), &single);
      if (std::isinf(one.logit) && one.logit < 0) token = LLAMA_TOKEN_NULL;
    }
    if (token == LLAMA_TOKEN_NULL) token = Pick(logits, grammar_.get());
    if (token == LLAMA_TOKEN_NULL) return LLAMA_TOKEN_NULL;
    if (chain_ != nullptr) llama_sampler_accept(chain_.get(), token);
    if (!llama_vocab_is_eog(vocab_, token)) llama_sampler_accept(grammar_.get(), token);
    return token;
  } catch (const std::exception&) {
    return LLAMA_TOKEN_NULL;  // llama.cpp's grammar throws when no stack accepts a piece
  }
}

}  // namespace modeld::llm
