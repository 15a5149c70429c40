#pragma once

// Helpers shared by the fuzz targets: property checks that crash loudly (so
// libFuzzer and the replay driver both report them) and a deterministic way
// to cut a byte string into stream pieces.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace modeld::fuzz {

// A broken invariant is a finding: print it and abort, which libFuzzer
// records as a crash with the input that caused it.
inline void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

// Cuts `text` into pieces of 1..max_piece bytes whose sizes follow a small
// LCG seeded by `seed`, so one input byte chooses the chunking.
inline std::vector<std::string_view> Chunks(std::string_view text, uint8_t seed,
                                            size_t max_piece = 8) {
  std::vector<std::string_view> out;
  uint32_t state = seed * 2654435761u + 1;
  while (!text.empty()) {
    state = state * 1664525u + 1013904223u;
    const size_t n = std::min(text.size(), 1 + (state >> 16) % max_piece);
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

}  // namespace modeld::fuzz
