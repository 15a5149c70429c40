#include "cmd/modeld-mkmodel/shape.h"

#include <string>

#include "cmd/modeld-mkmodel/vocab.h"

namespace modeld::mkmodel {

std::string_view WeightTypeName(WeightType type) {
  switch (type) {
    case WeightType::kF16:
      return "f16";
    case WeightType::kQ8_0:
      return "q8_0";
    case WeightType::kQ4_0:
      return "q4_0";
  }
  return "?";
}

Result<WeightType> ParseWeightType(std::string_view name) {
  for (WeightType t : {WeightType::kF16, WeightType::kQ8_0, WeightType::kQ4_0}) {
    if (name == WeightTypeName(t)) {
      return t;
    }
  }
  return Status::InvalidRequest("unknown weight type '" + std::string(name) +
                                "' (want f16, q8_0 or q4_0)");
}

const std::vector<std::string>& PresetNames() {
  static const std::vector<std::string> kNames = {"tiny", "small", "1b"};
  return kNames;
}

Result<Shape> PresetShape(std::string_view name) {
  Shape s;
  s.n_vocab = 32000;
  s.n_ctx = 2048;
  if (name == "tiny") {
    // For unit tests: small enough to load in milliseconds, still GQA.
    s.n_embd = 64;
    s.n_layer = 4;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_ff = 256;
    s.type = WeightType::kF16;
  } else if (name == "small") {
    // GPT-2-small-like width and depth.
    s.n_embd = 768;
    s.n_layer = 12;
    s.n_head = 12;
    s.n_head_kv = 12;
    s.n_ff = 2048;
    s.type = WeightType::kQ8_0;
  } else if (name == "1b") {
    // TinyLlama-1.1B.
    s.n_embd = 2048;
    s.n_layer = 22;
    s.n_head = 32;
    s.n_head_kv = 4;
    s.n_ff = 5632;
    s.type = WeightType::kQ4_0;
  } else {
    return Status::InvalidRequest("unknown preset '" + std::string(name) +
                                  "' (want tiny, small or 1b)");
  }
  return s;
}

Shape ApplyOverrides(Shape shape, const ShapeOverrides& o) {
  if (o.n_vocab) {
    shape.n_vocab = *o.n_vocab;
  }
  if (o.n_embd) {
    shape.n_embd = *o.n_embd;
  }
  if (o.n_layer) {
    shape.n_layer = *o.n_layer;
  }
  if (o.n_head) {
    shape.n_head = *o.n_head;
  }
  if (o.n_head_kv) {
    shape.n_head_kv = *o.n_head_kv;
  }
  if (o.n_ff) {
    shape.n_ff = *o.n_ff;
  }
  if (o.n_ctx) {
    shape.n_ctx = *o.n_ctx;
  }
  if (o.type) {
    shape.type = *o.type;
  }
  return shape;
}

Status ValidateShape(const Shape& s) {
  auto bad = [](std::string m) { return Status::InvalidRequest(std::move(m)); };
  if (s.n_embd <= 0 || s.n_layer <= 0 || s.n_head <= 0 || s.n_head_kv <= 0 || s.n_ff <= 0 ||
      s.n_ctx <= 0 || s.n_vocab <= 0) {
    return bad("all sizes must be positive");
  }
  if (s.n_vocab < MinVocabSize()) {
    return bad("n_vocab must be at least " + std::to_string(MinVocabSize()));
  }
  if (s.n_embd % s.n_head != 0) {
    return bad("n_embd must be a multiple of n_head");
  }
  if (s.n_head % s.n_head_kv != 0) {
    return bad("n_head must be a multiple of n_head_kv");
  }
  if (s.head_dim() % 2 != 0) {
    return bad("n_embd / n_head must be even (RoPE)");
  }
  // Rows of every matrix are n_embd or n_ff long; quantized blocks hold 32.
  if (s.type != WeightType::kF16 && (s.n_embd % 32 != 0 || s.n_ff % 32 != 0)) {
    return bad("q8_0 and q4_0 need n_embd and n_ff to be multiples of 32");
  }
  return Status::Ok();
}

uint64_t ParamCount(const Shape& s) {
  const uint64_t e = s.n_embd, kv = s.n_embd_kv(), ff = s.n_ff, v = s.n_vocab;
  const uint64_t per_layer = 2 * e          // attn_norm, ffn_norm
                             + e * e * 2    // attn_q, attn_output
                             + e * kv * 2   // attn_k, attn_v
                             + e * ff * 3;  // ffn_gate, ffn_up, ffn_down
  return 2 * v * e + e + per_layer * static_cast<uint64_t>(s.n_layer);
}

}  // namespace modeld::mkmodel
