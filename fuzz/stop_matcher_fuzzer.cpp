// Fuzz target: StopMatcher on a text arriving in pieces. Input layout:
// byte 0 picks the cut, byte 1 the number of stop strings (0..4), then each
// stop as a length byte (0..15) and its bytes; the rest is the text. The
// matcher must release exactly what a search of the whole text would: the
// text before the earliest stop, or all of it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "internal/llm/stop_matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 2) return 0;
  const auto cut = static_cast<uint8_t>(in[0]);
  const size_t n_stops = static_cast<uint8_t>(in[1]) % 5;
  in.remove_prefix(2);
  std::vector<std::string> stops;
  size_t longest = 0;
  for (size_t i = 0; i < n_stops && !in.empty(); ++i) {
    const size_t len = std::min<size_t>(static_cast<uint8_t>(in[0]) % 16, in.size() - 1);
    stops.emplace_back(in.substr(1, len));
    longest = std::max(longest, len);
    in.remove_prefix(1 + len);
  }
  const std::string_view text = in;

  size_t first = std::string_view::npos;
  for (const auto& s : stops) {
    if (!s.empty()) first = std::min(first, text.find(s));
  }
  const bool want_match = first != std::string_view::npos;
  const std::string_view want = want_match ? text.substr(0, first) : text;

  modeld::llm::StopMatcher matcher(stops);
  std::string out;
  bool matched = false;
  for (std::string_view piece : modeld::fuzz::Chunks(text, cut, 12)) {
    matched = matcher.Push(piece, out);
    if (matched) break;
    Check(longest == 0 || matcher.held() < longest, "holds back less than the longest stop");
    Check(want.starts_with(out), "released text precedes the earliest stop");
  }
  const bool flushed = matcher.Flush(out);
  Check(flushed == want_match && (!matched || want_match), "matched exactly when a stop occurs");
  Check(out == want, "released text is the text before the earliest stop");
  return 0;
}
