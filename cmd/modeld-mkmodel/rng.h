#pragma once

// Deterministic random numbers for model weights. The standard library's
// distributions differ between implementations, so the same seed must give
// the same file everywhere: everything here is spelled out bit by bit.

#include <cstdint>

namespace modeld::mkmodel {

// SplitMix64: used to derive independent seeds (per tensor, per row).
constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A seed mixed from two values, e.g. (tensor seed, row index).
constexpr uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull);
  return SplitMix64(s);
}

// FNV-1a, to turn a tensor name into a seed component.
constexpr uint64_t HashName(const char* s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (; *s != '\0'; ++s) {
    h = (h ^ static_cast<unsigned char>(*s)) * 0x100000001B3ull;
  }
  return h;
}

// xoshiro256**: the weight generator. Not thread-safe; use one per thread.
class Xoshiro256 {
 public:
  explicit constexpr Xoshiro256(uint64_t seed) {
    for (uint64_t& w : s_) {
      w = SplitMix64(seed);
    }
  }

  constexpr uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Approximately standard normal: the Irwin-Hall sum of the four 16-bit
  // uniforms in one 64-bit draw, centred and scaled to unit variance. It is
  // bounded (|z| < 3.47) and needs no transcendental functions, which keeps
  // generating a 1.1B-parameter model fast.
  float NextNormal() {
    const uint64_t r = Next();
    const uint32_t sum =
        static_cast<uint32_t>(r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
    // sum/65536 has mean 2 - 2/65536 and variance ~1/3.
    constexpr float kMean = 4.0f * 65535.0f / 2.0f;
    constexpr float kScale = 1.7320508f / 65536.0f;  // sqrt(3) / 2^16
    return (static_cast<float>(sum) - kMean) * kScale;
  }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4] = {};
};

}  // namespace modeld::mkmodel
