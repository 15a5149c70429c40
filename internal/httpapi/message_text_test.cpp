#include "internal/httpapi/message_text.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(MessageTextTest, ShortValuesAreQuotedWhole) {
  EXPECT_EQ(QuoteForMessage("tiny"), "'tiny'");
  EXPECT_EQ(QuoteForMessage(std::string(kMaxEchoBytes, 'a')), "'" + std::string(64, 'a') + "'");
}

TEST(MessageTextTest, LongValuesAreCutAndSayTheirLength) {
  const std::string id(1 << 20, 'x');
  EXPECT_EQ(QuoteForMessage(id), "'" + std::string(64, 'x') + "...' (1048576 bytes)");
}

TEST(MessageTextTest, CutNeverSplitsAUtf8Character) {
  // 63 ASCII bytes, then a 2-byte character straddling the limit.
  const std::string id = std::string(63, 'a') + "\xC3\xA9" + std::string(100, 'b');
  EXPECT_EQ(QuoteForMessage(id), "'" + std::string(63, 'a') + "...' (165 bytes)");
}

}  // namespace
}  // namespace modeld::httpapi
