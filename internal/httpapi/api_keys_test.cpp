#include "internal/httpapi/api_keys.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(ApiKeysTest, ConstantTimeEqualsIsEquality) {
  struct Case {
    const char* presented;
    const char* key;
    bool equal;
  };
  const Case cases[] = {
      {"sk-abc", "sk-abc", true},    {"sk-abd", "sk-abc", false}, {"sk-ab", "sk-abc", false},
      {"sk-abcsk", "sk-abc", false}, {"", "sk-abc", false},       {"sk-abcsk-abc", "sk-abc", false},
      {"Sk-abc", "sk-abc", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ConstantTimeEquals(c.presented, c.key), c.equal) << c.presented << " vs " << c.key;
  }
}

TEST(ApiKeysTest, BearerHeaders) {
  const ApiKeys keys({"sk-one", "sk-two"});
  EXPECT_TRUE(keys.enabled());
  struct Case {
    std::optional<std::string_view> header;
    const char* message;  // "" when accepted
  };
  const char* kMissing =
      "missing API key: send the header 'Authorization: Bearer <key>' (the OpenAI SDKs do so "
      "with their apiKey option)";
  const Case cases[] = {
      {"Bearer sk-one", ""},
      {"Bearer sk-two", ""},
      {"bearer sk-one", ""},
      {"BEARER   sk-two ", ""},
      {std::nullopt, kMissing},
      {"", kMissing},
      {"Bearer", kMissing},
      {"Basic c2stb25lOg==", kMissing},
      {"sk-one", kMissing},
      {"Bearer ", "invalid API key"},
      {"Bearer sk-on", "invalid API key"},
      {"Bearer sk-one sk-two", "invalid API key"},
      {"Bearer sk-three", "invalid API key"},
  };
  for (const auto& c : cases) {
    const Status s = keys.Check(c.header);
    const std::string shown(c.header.value_or("<absent>"));
    if (*c.message == 0) {
      EXPECT_TRUE(s.ok()) << shown << ": " << s.message();
    } else {
      EXPECT_EQ(s.code(), Code::kUnauthorized) << shown;
      EXPECT_EQ(s.message(), c.message) << shown;
    }
  }
  EXPECT_FALSE(ApiKeys().enabled());
}

}  // namespace
}  // namespace modeld::httpapi
