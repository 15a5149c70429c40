#pragma once

// What the tensors of a generated model are called, how big they are, and
// the deterministic values they hold.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/modeld-mkmodel/shape.h"
#include "cmd/modeld-mkmodel/vocab.h"
#include "pkg/types/status.h"

namespace modeld::mkmodel {

// How likely the model is to end a generation by itself.
enum class EogMode {
  // The output rows of </s>, the other control tokens and <unk> are zero, so
  // their logit is exactly 0 while the best of ~32000 random logits is far
  // above it: greedy decoding never stops early.
  kNever,
  // Embedding dimension 0 is a large constant that no layer writes to, and
  // </s>'s output row reads only that dimension: </s> is the argmax at once.
  kAlways,
};

std::string_view EogModeName(EogMode mode);  // "never", "always"
Result<EogMode> ParseEogMode(std::string_view name);

// Everything that determines a generated file. A plain value type.
struct ModelSpec {
  Shape shape;
  std::string name;
  uint64_t seed = 0;
  EogMode eog = EogMode::kNever;
  // `llama.pooling_type` (llama.cpp's numbers: none 0, mean 1, cls 2,
  // last 3), what an embedding model declares; -1: not written.
  int pooling_type = -1;
};

enum class TensorRole {
  kTokenEmbd,
  kAttnNorm,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnOut,
  kFfnNorm,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kOutputNorm,
  kOutput,
};

// One tensor: ne0 values per row (the input dimension, contiguous), ne1 rows.
struct TensorDesc {
  std::string name;  // llama.cpp's name, e.g. "blk.3.attn_q.weight"
  TensorRole role;
  int64_t ne0 = 0;
  int64_t ne1 = 1;  // 1 for the 1-D norm weights
  bool is_norm() const { return ne1 == 1; }
};

// All tensors of the llama architecture, in file order.
std::vector<TensorDesc> TensorList(const Shape& shape);

// Writes rows [row_begin, row_end) of the tensor, ne0 floats each, into out.
// Each row has its own generator seeded from (seed, tensor name, row), so
// rows can be produced in any order or in parallel with identical results.
void FillRows(const TensorDesc& tensor, const ModelSpec& spec, const Vocab& vocab,
              int64_t row_begin, int64_t row_end, float* out);

}  // namespace modeld::mkmodel
