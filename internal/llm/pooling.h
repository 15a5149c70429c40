#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/adapter.h"

namespace modeld::llm {

// The pooling an embeddings request uses on a model: the registry's when
// set, else the GGUF's `<arch>.pooling_type` (`gguf_value`, -1 when absent
// or unknown: NONE 0, MEAN 1, CLS 2, LAST 3, as llama.cpp numbers them),
// else mean, so that every model can embed.
Pooling ResolvePooling(Pooling registry, int gguf_value);

// "mean", "cls" or "last"; "default" for kDefault.
std::string_view PoolingName(Pooling pooling);
// Parses a registry value; false for anything but mean, cls and last.
bool ParsePooling(std::string_view name, Pooling* out);

// Pools one input's per-token vectors, fed in token order (a long input
// comes in several decodes), into one unit-length vector: their mean, the
// first (cls) or the last. Holds n_embd floats; no allocation per token.
// Thread-safety: not thread-safe; one input at a time.
class EmbeddingPool {
 public:
  // `pooling` must be resolved (not kDefault).
  void Reset(Pooling pooling, int n_embd);
  void Add(const float* row);  // n_embd floats
  // Writes the pooled, L2-normalized vector (n_embd floats) to `out`.
  void Finish(std::span<float> out);
  int count() const { return count_; }

 private:
  Pooling pooling_ = Pooling::kMean;
  std::vector<double> acc_;  // double: a long input's sum keeps its precision
  int count_ = 0;
};

// Scales `v` to unit L2 length; an all-zero vector stays zero.
void NormalizeL2(std::span<float> v);

}  // namespace modeld::llm
