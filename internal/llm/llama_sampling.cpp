#include "internal/llm/llama_sampling.h"

#include "internal/llm/argmax.h"

namespace modeld::llm {
namespace {

// Penalties look back this many tokens, like llama-server's default.
constexpr int32_t kPenaltyLastN = 64;

}  // namespace

TokenSampler::TokenSampler(const llama_vocab* vocab, const SamplingParams& p)
    : n_vocab_(llama_vocab_n_tokens(vocab)) {
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
  if (chain_ != nullptr) return llama_sampler_sample(chain_.get(), ctx, idx);
  return Argmax(logits, n_vocab_);
}

}  // namespace modeld::llm
