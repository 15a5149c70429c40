#include "internal/httpapi/http_origin.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(HttpOriginTest, ParsesOriginsAndNormalisesDefaultPorts) {
  struct Case {
    const char* text;
    const char* serialized;  // nullptr: refused
  };
  const Case cases[] = {
      {"http://localhost:3000", "http://localhost:3000"},
      {"HTTP://LocalHost:3000", "http://localhost:3000"},
      {"https://app.example.com", "https://app.example.com"},
      {"https://app.example.com:443", "https://app.example.com"},
      {"http://app.example.com:80/", "http://app.example.com"},
      {"http://[::1]:8080", "http://[::1]:8080"},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
      {"null", nullptr},
      {"file://", nullptr},
      {"ftp://x", nullptr},
      {"http://", nullptr},
      {"http://x/path", nullptr},
      {"http://user@x", nullptr},
      {"http://x:0", nullptr},
      {"http://x:65536", nullptr},
      {"http://x:", nullptr},
      {"http://[::1", nullptr},
      {"localhost:3000", nullptr},
  };
  for (const auto& c : cases) {
    auto o = ParseOrigin(c.text);
    if (c.serialized == nullptr) {
      EXPECT_FALSE(o.has_value()) << c.text;
    } else {
      ASSERT_TRUE(o.has_value()) << c.text;
      EXPECT_EQ(o->Serialize(), c.serialized) << c.text;
    }
  }
}

TEST(HttpOriginTest, ParsesHostHeaders) {
  auto h = ParseHostHeader("LOCALHOST:8080");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "localhost");
  EXPECT_EQ(h->port, 8080);
  h = ParseHostHeader("[::1]");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->host, "[::1]");
  EXPECT_EQ(h->port, 0);
  for (const char* bad : {"", ":80", "a b", "x:y", "[zz]:1", "[::1]x", "a:1:2", "evil.com/"}) {
    EXPECT_FALSE(ParseHostHeader(bad).has_value()) << bad;
  }
}

TEST(HttpOriginTest, IpLiteralsAndLoopback) {
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "[::1]", "[fe80::1]", "[::ffff:127.0.0.1]"}) {
    EXPECT_TRUE(IsIpLiteral(ip)) << ip;
  }
  for (const char* name : {"localhost", "127.0.0.1.nip.io", "::1", "[x]", "1.2.3", "example.com"}) {
    EXPECT_FALSE(IsIpLiteral(name)) << name;
  }
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a : {"0.0.0.0", "::", "192.168.1.5", "::ffff:10.0.0.1", "localhost", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(HttpOriginTest, SameOriginComparesHostAndPort) {
  const Origin o = *ParseOrigin("http://127.0.0.1:8080");
  EXPECT_TRUE(IsSameOrigin(o, *ParseHostHeader("127.0.0.1:8080")));
  EXPECT_FALSE(IsSameOrigin(o, *ParseHostHeader("127.0.0.1:8081")));
  EXPECT_FALSE(IsSameOrigin(o, *ParseHostHeader("localhost:8080")));
  EXPECT_FALSE(IsSameOrigin(o, *ParseHostHeader("127.0.0.1")));
  const Origin https = *ParseOrigin("https://modeld.example.com");
  EXPECT_TRUE(IsSameOrigin(https, *ParseHostHeader("modeld.example.com")));
  EXPECT_TRUE(IsSameOrigin(https, *ParseHostHeader("modeld.example.com:443")));
}

}  // namespace
}  // namespace modeld::httpapi
