#pragma once

#include <llama.h>

#include <memory>

#include "internal/llm/adapter.h"

namespace modeld::llm {

// Picks each next token for one request. Greedy (temperature <= 0) is a plain
// argmax over the logits; otherwise a llama.cpp sampler chain, built once in
// the constructor: penalties (only when non-zero), top_k, top_p, min_p,
// temperature, then a seeded draw. Sampling allocates nothing per token.
// Thread-safety: not thread-safe; one sequence's owner uses it.
class TokenSampler {
 public:
  TokenSampler(const llama_vocab* vocab, const SamplingParams& params);

  // Samples from the logits of output `idx` of the last decode (-1: the
  // last output) and records it (for penalties). Returns LLAMA_TOKEN_NULL
  // when the context holds no such logits.
  llama_token Sample(llama_context* ctx, int32_t idx = -1);

  bool greedy() const { return chain_ == nullptr; }

 private:
  struct ChainDeleter {
    void operator()(llama_sampler* s) const { llama_sampler_free(s); }
  };

  int n_vocab_;                                         // constant after construction
  std::unique_ptr<llama_sampler, ChainDeleter> chain_;  // null: greedy
};

}  // namespace modeld::llm
