#include "internal/registry/api_key_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modeld::registry {
namespace {

TEST(ApiKeyFileTest, KeysCommentsAndBlankLines) {
  struct Case {
    const char* name;
    const char* text;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {"one", "sk-one\n", {"sk-one"}},
      {"no_final_newline", "sk-one", {"sk-one"}},
      {"crlf_and_spaces", "  sk-one \r\n\tsk-two\r\n", {"sk-one", "sk-two"}},
      {"comments_and_blanks",
       "# prod\n\n   \n  # old: sk-x\nsk-one\n\nsk-two\n",
       {"sk-one", "sk-two"}},
      {"hash_inside_a_key", "sk#one\n", {"sk#one"}},
  };
  for (const auto& c : cases) {
    auto r = ParseApiKeyFile(c.text, "keys.txt");
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(*r, c.keys) << c.name;
  }
}

TEST(ApiKeyFileTest, ErrorsNameTheLineAndNeverTheKey) {
  struct Case {
    const char* name;
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"empty", "", "keys.txt: no API key in the file (one key per line; '#' starts a comment)"},
      {"comments_only", "# a\n\n",
       "keys.txt: no API key in the file (one key per line; '#' starts a comment)"},
      {"inner_space", "ok\nsecret with space\n",
       "keys.txt:2: an API key may hold only visible ASCII characters (no spaces)"},
      {"non_ascii", "\n\nsecr\xc3\xa9t\n",
       "keys.txt:3: an API key may hold only visible ASCII characters (no spaces)"},
  };
  for (const auto& c : cases) {
    auto r = ParseApiKeyFile(c.text, "keys.txt");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
    EXPECT_EQ(r.status().message().find("secret"), std::string::npos) << c.name;
  }
  auto too_long = ParseApiKeyFile(std::string(257, 'k'), "keys.txt");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().message(), "keys.txt:1: an API key must be at most 256 characters");
}

TEST(ApiKeyFileTest, MissingFileIsAnError) {
  auto r = LoadApiKeyFile("/nonexistent/modeld-keys.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("/nonexistent/modeld-keys.txt: cannot open: ", 0), 0u)
      << r.status().message();
}

}  // namespace
}  // namespace modeld::registry
