#include "internal/llm/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace modeld::llm {
namespace {

struct Outcome {
  std::string text;
  bool matched = false;
};

Outcome Feed(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Outcome o;
  for (const auto& p : pieces) {
    if (m.Push(p, o.text)) {
      o.matched = true;
      break;
    }
  }
  o.matched = m.Flush(o.text);
  return o;
}

struct Case {
  const char* name;
  std::vector<std::string> stops;
  std::vector<std::string> pieces;
  std::string want;
  bool want_matched;
};

TEST(StopMatcherTest, Table) {
  const std::vector<Case> cases = {
      {"no stops passes through", {}, {"a", "b"}, "ab", false},
      {"empty stop ignored", {""}, {"a", "b"}, "ab", false},
      {"no match", {"STOP"}, {"hello ", "world"}, "hello world", false},
      {"match in one piece", {"STOP"}, {"helloSTOPworld"}, "hello", true},
      {"match at start", {"STOP"}, {"STOP and more"}, "", true},
      {"split across many pushes", {"STOP"}, {"ab", "S", "T", "O", "P", "zz"}, "ab", true},
      {"held prefix released when broken", {"STOP"}, {"ST", "OX"}, "STOX", false},
      {"held prefix released at flush", {"STOP"}, {"abc", "STO"}, "abcSTO", false},
      {"overlapping candidates", {"aab"}, {"a", "a", "a", "b", "c"}, "a", true},
      {"self overlapping stop", {"abab"}, {"aba", "a", "bab"}, "aba", true},
      {"multiple stops earliest wins", {"world", "lo"}, {"hello world"}, "hel", true},
      {"multiple stops same start", {"ab", "abc"}, {"xabcd"}, "x", true},
      {"longer stop while shorter prefix held", {"xyz", "yq"}, {"x", "y", "q"}, "x", true},
      {"utf8 stop",
       {"\xC3\xA9t\xC3\xA9"},
       {"caf\xC3\xA9 ", "\xC3\xA9", "t\xC3\xA9!"},
       "caf\xC3\xA9 ",
       true},
      {"longer stop started earlier wins", {"ccba", "cb"}, {"cc", "cb", "a"}, "c", true},
      {"shorter stop wins when longer breaks", {"ccba", "cb"}, {"cc", "cb", "x"}, "cc", true},
      {"open candidate resolved at flush", {"ccba", "cb"}, {"cccb"}, "cc", true},
      {"stop equal to whole text", {"end"}, {"e", "n", "d"}, "", true},
  };
  for (const auto& c : cases) {
    const Outcome o = Feed(c.stops, c.pieces);
    EXPECT_EQ(o.text, c.want) << c.name;
    EXPECT_EQ(o.matched, c.want_matched) << c.name;
  }
}

TEST(StopMatcherTest, ReleasesTextThatCannotStartAStopImmediately) {
  StopMatcher m({"STOP"});
  std::string out;
  EXPECT_FALSE(m.Push("hello S", out));
  EXPECT_EQ(out, "hello ");
  EXPECT_EQ(m.held(), 1u);
  EXPECT_FALSE(m.Push("T", out));
  EXPECT_EQ(out, "hello ");
  EXPECT_FALSE(m.Push("x", out));
  EXPECT_EQ(out, "hello STx");
  EXPECT_EQ(m.held(), 0u);
}

TEST(StopMatcherTest, IgnoresPushesAfterMatch) {
  StopMatcher m({"."});
  std::string out;
  EXPECT_TRUE(m.Push("one. two", out));
  EXPECT_TRUE(m.Push("three", out));
  m.Flush(out);
  EXPECT_EQ(out, "one");
  EXPECT_TRUE(m.matched());
}

// Reference: the text before the earliest occurrence of any stop.
Outcome Reference(const std::string& text, const std::vector<std::string>& stops) {
  size_t first = std::string::npos;
  for (const auto& s : stops) first = std::min(first, text.find(s));
  if (first == std::string::npos) return {text, false};
  return {text.substr(0, first), true};
}

TEST(StopMatcherTest, RandomStreamsMatchReference) {
  std::mt19937 rng(7);
  const std::string alphabet = "abc";
  auto random_string = [&](size_t min_len, size_t max_len) {
    std::string s(min_len + rng() % (max_len - min_len + 1), 'a');
    for (auto& ch : s) ch = alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> stops;
    const int n_stops = 1 + static_cast<int>(rng() % 3);
    size_t max_stop = 0;
    for (int i = 0; i < n_stops; ++i) {
      stops.push_back(random_string(1, 4));
      max_stop = std::max(max_stop, stops.back().size());
    }
    const std::string text = random_string(0, 30);
    const Outcome want = Reference(text, stops);

    StopMatcher m(stops);
    Outcome got;
    size_t pos = 0;
    while (pos < text.size() && !got.matched) {
      const size_t len = std::min(text.size() - pos, static_cast<size_t>(rng() % 4));
      got.matched = m.Push(std::string_view(text).substr(pos, len), got.text);
      pos += len;
      // Released text is always final: a prefix of the reference output.
      ASSERT_EQ(want.text.compare(0, got.text.size(), got.text), 0)
          << "round " << round << " text " << text << " got " << got.text << " stops "
          << ::testing::PrintToString(stops) << " pos " << pos;
      ASSERT_LT(m.held(), max_stop) << "round " << round;
    }
    got.matched = m.Flush(got.text);
    ASSERT_EQ(got.text, want.text) << "round " << round << " text " << text;
    ASSERT_EQ(got.matched, want.matched) << "round " << round;
  }
}

}  // namespace
}  // namespace modeld::llm
