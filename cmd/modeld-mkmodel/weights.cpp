#include "cmd/modeld-mkmodel/weights.h"

#include <algorithm>

#include "cmd/modeld-mkmodel/rng.h"

namespace modeld::mkmodel {
namespace {

constexpr float kStd = 0.02f;  // like GPT-2/llama initialisation; keeps activations small
// --eog always: the constant channel and </s>'s weight on it. The product
// must beat the best random logit (a few units at n_embd 2048) by far.
constexpr float kConstChannel = 1.0f;
constexpr float kEosWeight = 100.0f;

}  // namespace

std::string_view EogModeName(EogMode mode) { return mode == EogMode::kAlways ? "always" : "never"; }

Result<EogMode> ParseEogMode(std::string_view name) {
  if (name == "never") {
    return EogMode::kNever;
  }
  if (name == "always") {
    return EogMode::kAlways;
  }
  return Status::InvalidRequest("unknown --eog mode '" + std::string(name) +
                                "' (want never or always)");
}

std::vector<TensorDesc> TensorList(const Shape& s) {
  const int64_t e = s.n_embd, kv = s.n_embd_kv(), ff = s.n_ff;
  std::vector<TensorDesc> list;
  list.push_back({"token_embd.weight", TensorRole::kTokenEmbd, e, s.n_vocab});
  for (int i = 0; i < s.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    list.push_back({p + "attn_norm.weight", TensorRole::kAttnNorm, e, 1});
    list.push_back({p + "attn_q.weight", TensorRole::kAttnQ, e, e});
    list.push_back({p + "attn_k.weight", TensorRole::kAttnK, e, kv});
    list.push_back({p + "attn_v.weight", TensorRole::kAttnV, e, kv});
    list.push_back({p + "attn_output.weight", TensorRole::kAttnOut, e, e});
    list.push_back({p + "ffn_norm.weight", TensorRole::kFfnNorm, e, 1});
    list.push_back({p + "ffn_gate.weight", TensorRole::kFfnGate, e, ff});
    list.push_back({p + "ffn_up.weight", TensorRole::kFfnUp, e, ff});
    list.push_back({p + "ffn_down.weight", TensorRole::kFfnDown, ff, e});
  }
  list.push_back({"output_norm.weight", TensorRole::kOutputNorm, e, 1});
  list.push_back({"output.weight", TensorRole::kOutput, e, s.n_vocab});
  return list;
}

void FillRows(const TensorDesc& t, const ModelSpec& spec, const Vocab& vocab, int64_t row_begin,
              int64_t row_end, float* out) {
  const bool always = spec.eog == EogMode::kAlways;
  const uint64_t tensor_seed = MixSeed(spec.seed, HashName(t.name.c_str()));
  for (int64_t r = row_begin; r < row_end; ++r) {
    float* row = out + (r - row_begin) * t.ne0;
    if (t.is_norm()) {
      std::fill(row, row + t.ne0, 1.0f);
      continue;
    }
    const bool zero_row =
        (t.role == TensorRole::kOutput && vocab.IsSpecial(static_cast<int>(r))) ||
        // Nothing may write to the constant channel, so it survives every layer.
        (always && r == 0 && (t.role == TensorRole::kAttnOut || t.role == TensorRole::kFfnDown));
    if (zero_row) {
      std::fill(row, row + t.ne0, 0.0f);
      if (always && t.role == TensorRole::kOutput && r == vocab.eos_id) {
        row[0] = kEosWeight;
      }
      continue;
    }
    Xoshiro256 rng(MixSeed(tensor_seed, static_cast<uint64_t>(r)));
    for (int64_t i = 0; i < t.ne0; ++i) {
      row[i] = kStd * rng.NextNormal();
    }
    if (always && t.role == TensorRole::kTokenEmbd) {
      row[0] = kConstChannel;
    }
  }
}

}  // namespace modeld::mkmodel
