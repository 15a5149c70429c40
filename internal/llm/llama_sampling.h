#pragma once

#include <llama.h>

#include <memory>
#include <string>
#include <vector>

#include "internal/llm/adapter.h"

namespace modeld::llm {

// Picks each next token for one request. Greedy (temperature <= 0) is a plain
// argmax over the logits; otherwise a llama.cpp sampler chain, built once in
// the constructor: penalties (only when non-zero), top_k, top_p, min_p,
// temperature, then a seeded draw. With a grammar, the token picked is
// checked against it alone, and only when the grammar rejects it are all
// tokens filtered and the pick repeated (as llama.cpp's common sampler
// does: filtering the whole vocabulary every token is slow). Sampling
// allocates nothing per token.
// Thread-safety: not thread-safe; one sequence's owner uses it.
class TokenSampler {
 public:
  // `grammar` is GBNF already checked by CheckGrammar; empty: none.
  TokenSampler(const llama_vocab* vocab, const SamplingParams& params,
               const std::string& grammar = {});
  // The grammar of `prompt`, lazy when it says so (llama.cpp's lazy grammar
  // sampler: free text until a trigger pattern or token, then the grammar).
  TokenSampler(const llama_vocab* vocab, const SamplingParams& params,
               const PreparedPrompt& prompt);

  // Samples from the logits of output `idx` of the last decode (-1: the
  // last output) and records it (for penalties and the grammar). Returns
  // LLAMA_TOKEN_NULL when the context holds no such logits or the grammar
  // allows no token.
  llama_token Sample(llama_context* ctx, int32_t idx = -1);

  bool greedy() const { return chain_ == nullptr; }
  bool constrained() const { return grammar_ != nullptr; }

 private:
  struct SamplerDeleter {
    void operator()(llama_sampler* s) const { llama_sampler_free(s); }
  };
  using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

  void InitChain(const SamplingParams& params);
  llama_token SampleConstrained(const float* logits);
  // The chain's pick (or the argmax) from cur_ as filled from `logits`,
  // after `filter` when it is not null.
  llama_token Pick(const float* logits, llama_sampler* filter);

  // Constant after construction.
  const llama_vocab* vocab_;
  int n_vocab_;
  SamplerPtr chain_;                   // null: greedy
  SamplerPtr grammar_;                 // null: free text
  std::vector<llama_token_data> cur_;  // n_vocab_ candidates, with a grammar only
};

}  // namespace modeld::llm
