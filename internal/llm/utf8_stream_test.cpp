#include "internal/llm/utf8_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace modeld::llm {
namespace {

const std::string kFFFD = "\xEF\xBF\xBD";

// Feeds `pieces` one Push at a time, then flushes.
std::string Feed(const std::vector<std::string>& pieces) {
  Utf8Stream s;
  std::string out;
  for (const auto& p : pieces) s.Push(p, out);
  s.Flush(out);
  return out;
}

struct Case {
  const char* name;
  std::vector<std::string> pieces;
  std::string want;
};

TEST(Utf8StreamTest, Table) {
  const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600
  const std::vector<Case> cases = {
      {"empty", {}, ""},
      {"ascii", {"hello", " world"}, "hello world"},
      {"two byte whole", {"caf\xC3\xA9"}, "caf\xC3\xA9"},
      {"two byte split", {"caf\xC3", "\xA9!"}, "caf\xC3\xA9!"},
      {"three byte split 1+2", {"\xE2", "\x82\xAC"}, "\xE2\x82\xAC"},
      {"three byte split 2+1", {"\xE2\x82", "\xAC"}, "\xE2\x82\xAC"},
      {"emoji whole", {emoji}, emoji},
      {"emoji byte by byte", {"\xF0", "\x9F", "\x98", "\x80"}, emoji},
      {"emoji split 2+2 with text", {"a\xF0\x9F", "\x98\x80z"}, "a" + emoji + "z"},
      {"max code point", {"\xF4\x8F\xBF\xBF"}, "\xF4\x8F\xBF\xBF"},
      {"lone continuation", {"a\x80z"}, "a" + kFFFD + "z"},
      {"two lone continuations", {"\x80\xBF"}, kFFFD + kFFFD},
      {"invalid lead C0", {"\xC0\xAF"}, kFFFD + kFFFD},
      {"invalid lead C1", {"\xC1\x81"}, kFFFD + kFFFD},
      {"invalid lead F5", {"\xF5\x80\x80\x80"}, kFFFD + kFFFD + kFFFD + kFFFD},
      {"invalid lead FF", {"x\xFFy"}, "x" + kFFFD + "y"},
      {"overlong three byte", {"\xE0\x80\x80"}, kFFFD + kFFFD + kFFFD},
      {"overlong four byte", {"\xF0\x80\x80\x80"}, kFFFD + kFFFD + kFFFD + kFFFD},
      {"surrogate", {"\xED\xA0\x80"}, kFFFD + kFFFD + kFFFD},
      {"above U+10FFFF", {"\xF4\x90\x80\x80"}, kFFFD + kFFFD + kFFFD + kFFFD},
      {"interrupted by ascii",
       {"\xE2\x82"
        "A"},
       kFFFD + "A"},
      {"interrupted across pushes", {"\xE2", "\x82", "A"}, kFFFD + "A"},
      {"interrupted by new lead", {"\xE2\x82\xC3\xA9"}, kFFFD + "\xC3\xA9"},
      {"incomplete at end", {"ok\xF0\x9F\x98"}, "ok" + kFFFD},
      {"incomplete single lead at end", {"\xC3"}, kFFFD},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Feed(c.pieces), c.want) << c.name;
  }
}

TEST(Utf8StreamTest, HoldsIncompleteTailUntilCompleted) {
  Utf8Stream s;
  std::string out;
  s.Push("a\xF0\x9F", out);
  EXPECT_EQ(out, "a");
  EXPECT_EQ(s.held(), 2);
  s.Push("\x98", out);
  EXPECT_EQ(out, "a");
  EXPECT_EQ(s.held(), 3);
  s.Push("\x80", out);
  EXPECT_EQ(out, "a\xF0\x9F\x98\x80");
  EXPECT_EQ(s.held(), 0);
}

TEST(Utf8StreamTest, ResetDropsHeldBytes) {
  Utf8Stream s;
  std::string out;
  s.Push("\xE2\x82", out);
  s.Reset();
  s.Push("b", out);
  s.Flush(out);
  EXPECT_EQ(out, "b");
}

TEST(Utf8StreamTest, AppendsWithoutReallocatingReservedOutput) {
  Utf8Stream s;
  std::string out;
  out.reserve(64);
  const char* before = out.data();
  for (int i = 0; i < 10; ++i) {
    out.clear();
    s.Push("x\xC3", out);
    s.Push("\xA9y", out);
  }
  EXPECT_EQ(out, "x\xC3\xA9y");
  EXPECT_EQ(out.data(), before);
}

TEST(Utf8StreamTest, RandomBytesAlwaysYieldValidUtf8) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    Utf8Stream s;
    std::string out;
    std::string piece;
    for (int p = 0; p < 20; ++p) {
      piece.clear();
      const int len = static_cast<int>(rng() % 6);
      for (int k = 0; k < len; ++k) piece.push_back(static_cast<char>(rng() & 0xFF));
      s.Push(piece, out);
      ASSERT_TRUE(IsValidUtf8(out)) << "round " << round;
    }
    s.Flush(out);
    ASSERT_TRUE(IsValidUtf8(out)) << "round " << round;
  }
}

TEST(Utf8StreamTest, ValidInputPassesThroughUnchangedForAnySplit) {
  const std::string text = "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF end";
  for (size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
      EXPECT_EQ(Feed({text.substr(0, cut1), text.substr(cut1, cut2 - cut1), text.substr(cut2)}),
                text);
    }
  }
}

TEST(Utf8StreamTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("abc\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(
      IsValidUtf8("\xE2\x82"
                  "A"));
}

}  // namespace
}  // namespace modeld::llm
