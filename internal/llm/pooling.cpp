#include "internal/llm/pooling.h"

#include <algorithm>
#include <cmath>

namespace modeld::llm {

Pooling ResolvePooling(Pooling registry, int gguf_value) {
  if (registry != Pooling::kDefault) return registry;
  switch (gguf_value) {
    case 2:
      return Pooling::kCls;
    case 3:
      return Pooling::kLast;
    default:  // mean (1), none (0) and rank have no vector of their own: mean
      return Pooling::kMean;
  }
}

std::string_view PoolingName(Pooling pooling) {
  switch (pooling) {
    case Pooling::kMean:
      return "mean";
    case Pooling::kCls:
      return "cls";
    case Pooling::kLast:
      return "last";
    case Pooling::kDefault:
      break;
  }
  return "default";
}

bool ParsePooling(std::string_view name, Pooling* out) {
  for (Pooling p : {Pooling::kMean, Pooling::kCls, Pooling::kLast}) {
    if (name == PoolingName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

void NormalizeL2(std::span<float> v) {
  double sum = 0;  // double: thousands of squares keep their precision
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const auto scale = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= scale;
}

void EmbeddingPool::Reset(Pooling pooling, int n_embd) {
  pooling_ = pooling;
  acc_.assign(static_cast<size_t>(std::max(0, n_embd)), 0.0);
  count_ = 0;
}

void EmbeddingPool::Add(const float* row) {
  const bool take = pooling_ == Pooling::kLast || (pooling_ == Pooling::kCls && count_ == 0);
  if (pooling_ != Pooling::kCls && pooling_ != Pooling::kLast) {
    for (size_t i = 0; i < acc_.size(); ++i) acc_[i] += row[i];
  } else if (take) {
    std::copy_n(row, acc_.size(), acc_.begin());
  }
  ++count_;
}

void EmbeddingPool::Finish(std::span<float> out) {
  // The mean's 1/count vanishes in the normalization; dividing keeps the
  // intermediate value a true mean anyway.
  const double scale = pooling_ == Pooling::kMean && count_ > 0 ? 1.0 / count_ : 1.0;
  for (size_t i = 0; i < acc_.size() && i < out.size(); ++i) {
    out[i] = static_cast<float>(acc_[i] * scale);
  }
  NormalizeL2(out);
}

}  // namespace modeld::llm
