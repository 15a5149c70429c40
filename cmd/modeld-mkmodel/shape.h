#pragma once

// The shape of a generated llama-architecture model: named presets, flag
// overrides, validation and the parameter count.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::mkmodel {

// The storage type of the 2-D weight matrices; norms are always F32.
enum class WeightType { kF16, kQ8_0, kQ4_0 };

std::string_view WeightTypeName(WeightType type);  // "f16", "q8_0", "q4_0"
Result<WeightType> ParseWeightType(std::string_view name);

// A plain value type; safe to copy between threads.
struct Shape {
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_ff = 0;
  int n_ctx = 0;
  WeightType type = WeightType::kF16;
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;

  int head_dim() const { return n_embd / n_head; }
  int n_embd_kv() const { return head_dim() * n_head_kv; }
};

// Flags that, when set, replace the preset's values.
struct ShapeOverrides {
  std::optional<int> n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
  std::optional<WeightType> type;
};

// The names accepted by PresetShape, in a stable order.
const std::vector<std::string>& PresetNames();

// tiny (~4M, f16), small (~134M, q8_0), 1b (TinyLlama-1.1B shape, q4_0).
Result<Shape> PresetShape(std::string_view name);

Shape ApplyOverrides(Shape shape, const ShapeOverrides& overrides);

// Checks what llama.cpp and the quantizer need: positive sizes, heads that
// divide the width, an even head size (RoPE), rows divisible by the block
// size of the weight type, and room in the vocabulary for the fixed tokens.
Status ValidateShape(const Shape& shape);

// Every weight, norms included; token_embd and output are counted separately
// (they are not tied).
uint64_t ParamCount(const Shape& shape);

}  // namespace modeld::mkmodel
