#include "internal/httpapi/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace modeld::httpapi {
namespace {

TEST(JsonTextTest, EscapesLikeAJsonLibraryReadsIt) {
  const std::string cases[] = {"plain",
                               "quote\" and \\ backslash",
                               "line\nbreak\ttab\r",
                               std::string("nul\0byte", 8),
                               "\x01\x1f control",
                               "héllo 中文 🙂",
                               ""};
  for (const auto& text : cases) {
    std::string out;
    AppendJsonString(out, text);
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text) << out;
  }
}

TEST(JsonTextTest, EscapeDoesNotAllocateWithCapacity) {
  std::string out;
  out.reserve(256);
  const char* before = out.data();
  AppendJsonString(out, "tokens \"with\" escapes\n");
  EXPECT_EQ(out.data(), before);
}

TEST(JsonTextTest, NumbersHaveAtMostThreeDecimals) {
  std::string out;
  AppendJsonNumber(out, 12.5);
  out.push_back(' ');
  AppendJsonNumber(out, 3.0);
  out.push_back(' ');
  AppendJsonNumber(out, 0.12345);
  out.push_back(' ');
  AppendJsonNumber(out, 1e300 * 1e300);
  EXPECT_EQ(out, "12.5 3 0.123 0");
}

}  // namespace
}  // namespace modeld::httpapi
