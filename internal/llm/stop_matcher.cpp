#include "internal/llm/stop_matcher.h"

#include <algorithm>

namespace modeld::llm {

StopMatcher::StopMatcher(const std::vector<std::string>& stops) {
  stops_.reserve(stops.size());
  for (const auto& s : stops) {
    if (s.empty()) continue;
    stops_.push_back(s);
    max_stop_len_ = std::max(max_stop_len_, s.size());
  }
  // A held tail is shorter than the longest stop; a push adds one token piece.
  if (!stops_.empty()) held_.reserve(max_stop_len_ + 256);
}

bool StopMatcher::Push(std::string_view in, std::string& out) {
  if (matched_) return true;
  if (stops_.empty()) {
    out.append(in);
    return false;
  }
  held_.append(in);

  // The stream is cut at the earliest stop occurrence. A match is final only
  // when no longer stop could still complete at an earlier position.
  const size_t first = EarliestMatch();
  const size_t keep = LongestPrefixSuffix();
  if (first != std::string::npos && keep <= held_.size() - first) {
    out.append(held_, 0, first);
    held_.clear();
    matched_ = true;
    return true;
  }
  // Every position before the longest stop-prefix suffix can start no stop:
  // a stop starting there would either have matched above or be a prefix.
  const size_t release = held_.size() - keep;
  out.append(held_, 0, release);
  held_.erase(0, release);
  return false;
}

bool StopMatcher::Flush(std::string& out) {
  if (!matched_) {
    // A stop may have matched while a longer candidate was still open.
    const size_t first = EarliestMatch();
    matched_ = first != std::string::npos;
    out.append(held_, 0, matched_ ? first : held_.size());
  }
  held_.clear();
  return matched_;
}

size_t StopMatcher::EarliestMatch() const {
  size_t first = std::string::npos;
  for (const auto& stop : stops_) first = std::min(first, held_.find(stop));
  return first;
}

size_t StopMatcher::LongestPrefixSuffix() const {
  const std::string_view text = held_;
  const size_t max_len = std::min(text.size(), max_stop_len_ - 1);
  for (size_t len = max_len; len > 0; --len) {
    const std::string_view suffix = text.substr(text.size() - len);
    for (const auto& stop : stops_) {
      if (stop.size() > len && std::string_view(stop).starts_with(suffix)) return len;
    }
  }
  return 0;
}

}  // namespace modeld::llm
