#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modeld::llm {

// Finds stop strings in a text stream that arrives in pieces. Text that cannot
// be the start of any stop string is released at once; a tail that is a
// prefix of some stop string is held back until it either completes a stop or
// turns out not to. The stream is cut at the earliest stop occurrence, as if
// the whole text were searched at once: the text before it is released and the
// stop string and everything after it are dropped, so no part of a stop string
// is ever released. With valid UTF-8 input and valid UTF-8 stop strings the
// released text stays valid UTF-8 (a stop can only start at a character
// boundary). After construction the steady state allocates nothing beyond
// what the first pushes reserve.
// Thread-safety: not thread-safe; one owner at a time.
class StopMatcher {
 public:
  // Empty stop strings are ignored.
  explicit StopMatcher(const std::vector<std::string>& stops);

  // Appends the text of `in` that is safe to release to `out`. Returns true
  // when a stop string has matched; later pushes are then ignored.
  bool Push(std::string_view in, std::string& out);
  // Ends the stream: releases the held-back tail up to the earliest stop in
  // it. Returns true when a stop has matched (now or in an earlier Push).
  bool Flush(std::string& out);

  bool matched() const { return matched_; }
  // Bytes held back as a possible stop-string prefix.
  size_t held() const { return held_.size(); }

 private:
  // Position of the earliest stop occurrence in held_, or npos.
  size_t EarliestMatch() const;
  // Length of the longest suffix of held_ that is a proper prefix of a stop.
  size_t LongestPrefixSuffix() const;

  std::vector<std::string> stops_;  // constant after construction
  size_t max_stop_len_ = 0;         // constant after construction
  std::string held_;
  bool matched_ = false;
};

}  // namespace modeld::llm
