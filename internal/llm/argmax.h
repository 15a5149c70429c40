#pragma once

#include <cstdint>

namespace modeld::llm {

// Greedy sampling: the first index of the largest of x[0..n), n >= 1. NaNs
// are never chosen unless x[0] is one. Blocks of 64 are reduced in 8
// independent lanes, which the compiler vectorizes, and only a block that
// beats the best so far is scanned for its index: a plain compare-and-branch
// loop over a 32k vocabulary cost ~6% of a decode step on `tiny`.
inline int32_t Argmax(const float* x, int32_t n) {
  constexpr int32_t kBlock = 64;
  constexpr int32_t kLanes = 8;
  int32_t best = 0;
  float best_v = x[0];
  int32_t t = 0;
  for (; t + kBlock <= n; t += kBlock) {
    const float* b = x + t;
    float lane[kLanes];
    for (int32_t j = 0; j < kLanes; ++j) lane[j] = b[j];
    for (int32_t i = kLanes; i < kBlock; i += kLanes) {
      for (int32_t j = 0; j < kLanes; ++j) lane[j] = lane[j] < b[i + j] ? b[i + j] : lane[j];
    }
    float m = lane[0];
    for (int32_t j = 1; j < kLanes; ++j) m = m < lane[j] ? lane[j] : m;
    if (!(m > best_v)) continue;
    for (int32_t i = 0; i < kBlock; ++i) {
      if (b[i] == m) {
        best = t + i;
        best_v = m;
        break;
      }
    }
  }
  for (; t < n; ++t) {
    if (x[t] > best_v) {
      best_v = x[t];
      best = t;
    }
  }
  return best;
}

}  // namespace modeld::llm
