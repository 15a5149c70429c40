#include "internal/httpapi/web_page.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace modeld::httpapi {
namespace {

const WebAsset* Find(std::string_view path) {
  for (const WebAsset& a : WebAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

// Issue 14: the whole page is at most 150 KB uncompressed.
TEST(WebPageTest, TheWholePageIsAtMost150KB) {
  size_t total = 0;
  for (const WebAsset& a : WebAssets()) total += a.body.size();
  EXPECT_GT(total, 0u);
  EXPECT_LE(total, 150u * 1024u) << "web/ has grown past the 150 KB budget";
}

TEST(WebPageTest, ServesThePageItsScriptAndStyleWithTypesAndEtags) {
  const WebAsset* page = Find("/");
  const WebAsset* js = Find("/app.js");
  const WebAsset* css = Find("/app.css");
  ASSERT_NE(page, nullptr);
  ASSERT_NE(js, nullptr);
  ASSERT_NE(css, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  const std::regex etag("\"[0-9a-f]{16}\"");
  for (const WebAsset& a : WebAssets()) {
    EXPECT_TRUE(std::regex_match(std::string(a.etag), etag)) << a.path << ": " << a.etag;
  }
  EXPECT_NE(page->etag, js->etag);
  const std::string html(page->body);
  EXPECT_NE(html.find("<script src=\"/app.js\""), std::string::npos);
  EXPECT_NE(html.find("href=\"/app.css\""), std::string::npos);
}

// The policy allows no inline script or style: the page must have none.
TEST(WebPageTest, ThePageHasNothingInlineThatThePolicyWouldBlock) {
  const std::string html(Find("/")->body);
  EXPECT_FALSE(std::regex_search(html, std::regex("<script(?![^>]*\\ssrc=)"))) << "inline <script>";
  EXPECT_FALSE(std::regex_search(html, std::regex("<style")));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\sstyle=")));
  EXPECT_FALSE(std::regex_search(html, std::regex("\\son[a-z]+=")));
  // Nothing from elsewhere: no CDN, no external fonts.
  for (const WebAsset& a : WebAssets()) {
    EXPECT_EQ(std::string(a.body).find("http://"), std::string::npos) << a.path;
    EXPECT_EQ(std::string(a.body).find("https://"), std::string::npos) << a.path;
  }
  EXPECT_NE(kWebPagePolicy.find("script-src 'self'"), std::string_view::npos);
  EXPECT_EQ(kWebPagePolicy.find("unsafe-inline"), std::string_view::npos);
}

TEST(WebPageTest, IfNoneMatchComparesEntityTags) {
  const std::string_view etag = "\"0123456789abcdef\"";
  struct Case {
    std::string_view header;
    bool match;
  } cases[] = {
      {"\"0123456789abcdef\"", true},
      {"W/\"0123456789abcdef\"", true},
      {"\"x\", \"0123456789abcdef\"", true},
      {" \"x\" ,W/\"0123456789abcdef\" ", true},
      {"*", true},
      {"\"0123456789abcdee\"", false},
      {"0123456789abcdef", false},
      {"", false},
      {",,", false},
  };
  for (const auto& c : cases) EXPECT_EQ(EtagMatches(c.header, etag), c.match) << c.header;
}

}  // namespace
}  // namespace modeld::httpapi
