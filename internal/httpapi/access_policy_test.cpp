#include "internal/httpapi/access_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace modeld::httpapi {
namespace {

using Headers = std::map<std::string, std::string>;

AccessPolicy MakePolicy(AccessConfig config) {
  auto p = AccessPolicy::Create(std::move(config));
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(p).value();
}

// A request as the policy sees it; `h` holds lower-case header names.
AccessRequest Req(std::string_view method, std::string_view path, const Headers& h,
                  std::string_view route_methods = "POST") {
  auto get = [&h](const char* name) -> std::optional<std::string_view> {
    auto it = h.find(name);
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->second);
  };
  AccessRequest r;
  r.method = method;
  r.path = path;
  r.route_methods = route_methods;
  r.host = get("host");
  r.origin = get("origin");
  r.content_type = get("content-type");
  r.authorization = get("authorization");
  r.preflight_method = get("access-control-request-method");
  r.preflight_headers = get("access-control-request-headers");
  return r;
}

std::string Outcome(const GateDecision& d) {
  switch (d.action) {
    case GateDecision::Action::kPass:
      return "pass";
    case GateDecision::Action::kPreflight:
      return "preflight";
    case GateDecision::Action::kRefuse:
      break;
  }
  return std::string(d.error.code_name());
}

std::string HeaderOf(const GateDecision& d, const std::string& name) {
  for (const auto& [k, v] : d.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

struct Case {
  const char* name;
  const char* method;
  const char* path;
  Headers headers;
  const char* outcome;  // pass, preflight or an error code
};

// Host: IP literals, localhost and --allowed-hosts (".example.com" suffix).
TEST(AccessPolicyTest, HostHeaders) {
  const AccessPolicy p = MakePolicy({{}, {}, {"modeld.lan", ".example.com"}, false});
  const Case cases[] = {
      {"no_host", "GET", "/models", {}, "pass"},
      {"ipv4", "GET", "/models", {{"host", "127.0.0.1:8080"}}, "pass"},
      {"ipv4_no_port", "GET", "/models", {{"host", "127.0.0.1"}}, "pass"},
      {"lan_ip", "GET", "/models", {{"host", "192.168.1.7:8080"}}, "pass"},
      {"ipv6", "GET", "/models", {{"host", "[::1]:8080"}}, "pass"},
      {"localhost", "GET", "/models", {{"host", "localhost:1234"}}, "pass"},
      {"localhost_upper", "GET", "/models", {{"host", "LocalHost"}}, "pass"},
      {"dot_localhost", "GET", "/models", {{"host", "app.localhost:5173"}}, "pass"},
      {"allowed", "GET", "/models", {{"host", "modeld.lan:8080"}}, "pass"},
      {"suffix_itself", "GET", "/models", {{"host", "example.com"}}, "pass"},
      {"suffix_sub", "GET", "/models", {{"host", "a.b.example.com"}}, "pass"},
      {"rebinding", "GET", "/models", {{"host", "attacker.test:8080"}}, "host_not_allowed"},
      {"lookalike", "GET", "/models", {{"host", "evilexample.com"}}, "host_not_allowed"},
      {"nip_io", "GET", "/models", {{"host", "127.0.0.1.nip.io"}}, "host_not_allowed"},
      {"malformed", "GET", "/models", {{"host", "a b"}}, "host_not_allowed"},
      {"probes_too", "GET", "/healthz", {{"host", "attacker.test"}}, "host_not_allowed"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Outcome(p.Decide(Req(c.method, c.path, c.headers))), c.outcome) << c.name;
  }
  const AccessPolicy any = MakePolicy({{}, {}, {"*"}, false});
  EXPECT_EQ(Outcome(any.Decide(Req("GET", "/models", {{"host", "attacker.test"}}))), "pass");
  const GateDecision d = p.Decide(Req("GET", "/models", {{"host", "attacker.test"}}));
  EXPECT_EQ(d.error.message(),
            "Host 'attacker.test' is not allowed (DNS rebinding protection); start modeld with "
            "--allowed-hosts <name> to serve it under that name");
}

// Origin: same-origin and --cors-origins pass; others are refused, also as
// preflights. Requests without Origin are not from a browser page.
TEST(AccessPolicyTest, OriginsAndPreflights) {
  const AccessPolicy p = MakePolicy({{}, {"http://localhost:3000"}, {}, false});
  const Headers host = {{"host", "127.0.0.1:8080"}};
  auto with = [&host](Headers more) {
    more.insert(host.begin(), host.end());
    return more;
  };
  const Case cases[] = {
      {"no_origin", "POST", "/infer", host, "pass"},
      {"same_origin", "POST", "/infer", with({{"origin", "http://127.0.0.1:8080"}}), "pass"},
      {"listed", "POST", "/infer", with({{"origin", "http://localhost:3000"}}), "pass"},
      {"listed_case", "POST", "/infer", with({{"origin", "http://LOCALHOST:3000"}}), "pass"},
      {"other_port", "POST", "/infer", with({{"origin", "http://localhost:3001"}}),
       "origin_not_allowed"},
      {"same_host_other_port", "POST", "/infer", with({{"origin", "http://127.0.0.1:9999"}}),
       "origin_not_allowed"},
      {"evil", "POST", "/infer", with({{"origin", "https://evil.test"}}), "origin_not_allowed"},
      {"null", "POST", "/infer", with({{"origin", "null"}}), "origin_not_allowed"},
      {"evil_get", "GET", "/models", with({{"origin", "https://evil.test"}}), "origin_not_allowed"},
      {"preflight_listed", "OPTIONS", "/infer",
       with({{"origin", "http://localhost:3000"}, {"access-control-request-method", "POST"}}),
       "preflight"},
      {"preflight_evil", "OPTIONS", "/infer",
       with({{"origin", "https://evil.test"}, {"access-control-request-method", "POST"}}),
       "origin_not_allowed"},
      {"options_without_request_method", "OPTIONS", "/infer",
       with({{"origin", "http://localhost:3000"}}), "pass"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Outcome(p.Decide(Req(c.method, c.path, c.headers))), c.outcome) << c.name;
  }

  // A preflight's answer: the origin, the path's methods, the asked-for headers.
  const GateDecision pre = p.Decide(Req(
      "OPTIONS", "/v1/chat/completions",
      with({{"origin", "http://localhost:3000"},
            {"access-control-request-method", "POST"},
            {"access-control-request-headers", "authorization, content-type, x-stainless-os"}})));
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Allow-Origin"), "http://localhost:3000");
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Allow-Methods"), "POST");
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Allow-Headers"),
            "authorization, content-type, x-stainless-os");
  EXPECT_EQ(HeaderOf(pre, "Vary"), "Origin");
  EXPECT_EQ(HeaderOf(pre, "Access-Control-Max-Age"), "600");
  // An unknown path is left to the router (404).
  EXPECT_EQ(Outcome(p.Decide(Req("OPTIONS", "/nope",
                                 with({{"origin", "http://localhost:3000"},
                                       {"access-control-request-method", "POST"}}),
                                 ""))),
            "pass");

  // Listed origins get CORS headers on the response; same-origin needs none.
  const GateDecision listed =
      p.Decide(Req("POST", "/infer", with({{"origin", "http://localhost:3000"}})));
  EXPECT_EQ(HeaderOf(listed, "Access-Control-Allow-Origin"), "http://localhost:3000");
  const GateDecision same =
      p.Decide(Req("POST", "/infer", with({{"origin", "http://127.0.0.1:8080"}})));
  EXPECT_TRUE(same.headers.empty());

  const AccessPolicy any = MakePolicy({{}, {"*"}, {}, false});
  EXPECT_EQ(Outcome(any.Decide(Req("POST", "/infer", with({{"origin", "https://evil.test"}})))),
            "pass");
  const AccessPolicy none = MakePolicy({});
  EXPECT_EQ(
      Outcome(none.Decide(Req("POST", "/infer", with({{"origin", "http://localhost:3000"}})))),
      "origin_not_allowed");
}

TEST(AccessPolicyTest, ApiKeys) {
  const AccessPolicy p = MakePolicy({{"sk-1"}, {"http://app.test"}, {}, false});
  const AccessPolicy public_metrics = MakePolicy({{"sk-1"}, {}, {}, /*public_metrics=*/true});
  const AccessPolicy off = MakePolicy({});
  const Headers good = {{"authorization", "Bearer sk-1"}};
  const Headers bad = {{"authorization", "Bearer sk-2"}};
  const Case cases[] = {
      {"infer_key", "POST", "/infer", good, "pass"},
      {"infer_no_key", "POST", "/infer", {}, "invalid_api_key"},
      {"infer_wrong_key", "POST", "/infer", bad, "invalid_api_key"},
      {"chat_no_key", "POST", "/v1/chat/completions", {}, "invalid_api_key"},
      {"models_no_key", "GET", "/models", {}, "invalid_api_key"},
      {"v1_models_no_key", "GET", "/v1/models", {}, "invalid_api_key"},
      {"metrics_no_key", "GET", "/metrics", {}, "invalid_api_key"},
      {"unknown_path_no_key", "GET", "/nope", {}, "invalid_api_key"},
      {"healthz_open", "GET", "/healthz", {}, "pass"},
      {"readyz_open", "GET", "/readyz", {}, "pass"},
      {"readyz_query_path", "GET", "/readyz", bad, "pass"},
      // The status page loads without a key, then asks for one; its data
      // (/events, /models) needs the key.
      {"page_open", "GET", "/", {}, "pass"},
      {"page_js_open", "GET", "/app.js", {}, "pass"},
      {"page_css_open", "GET", "/app.css", {}, "pass"},
      {"events_no_key", "GET", "/events", {}, "invalid_api_key"},
      {"events_key", "GET", "/events", good, "pass"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Outcome(p.Decide(Req(c.method, c.path, c.headers))), c.outcome) << c.name;
    // Without keys everything is open, as before.
    EXPECT_EQ(Outcome(off.Decide(Req(c.method, c.path, c.headers))), "pass") << c.name;
  }
  EXPECT_EQ(Outcome(public_metrics.Decide(Req("GET", "/metrics", {}))), "pass");
  EXPECT_EQ(Outcome(public_metrics.Decide(Req("GET", "/models", {}))), "invalid_api_key");

  // A preflight never carries the key; an allowed page can read the 401.
  EXPECT_EQ(Outcome(p.Decide(
                Req("OPTIONS", "/infer",
                    {{"origin", "http://app.test"}, {"access-control-request-method", "POST"}}))),
            "preflight");
  const GateDecision d = p.Decide(Req("POST", "/infer", {{"origin", "http://app.test"}}));
  EXPECT_EQ(Outcome(d), "invalid_api_key");
  EXPECT_EQ(HeaderOf(d, "Access-Control-Allow-Origin"), "http://app.test");
}

TEST(AccessPolicyTest, PostBodiesMustBeJson) {
  const AccessPolicy p = MakePolicy({});
  const Case cases[] = {
      {"json", "POST", "/infer", {{"content-type", "application/json"}}, "pass"},
      {"json_charset",
       "POST",
       "/infer",
       {{"content-type", "Application/JSON; charset=utf-8"}},
       "pass"},
      {"none", "POST", "/infer", {}, "pass"},
      {"text_plain",
       "POST",
       "/infer",
       {{"content-type", "text/plain;charset=UTF-8"}},
       "unsupported_media_type"},
      {"form",
       "POST",
       "/v1/completions",
       {{"content-type", "application/x-www-form-urlencoded"}},
       "unsupported_media_type"},
      {"multipart",
       "POST",
       "/infer",
       {{"content-type", "multipart/form-data; boundary=x"}},
       "unsupported_media_type"},
      {"empty", "POST", "/infer", {{"content-type", ""}}, "unsupported_media_type"},
      {"get_ignores_it", "GET", "/models", {{"content-type", "text/plain"}}, "pass"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Outcome(p.Decide(Req(c.method, c.path, c.headers))), c.outcome) << c.name;
  }
  EXPECT_EQ(p.Decide(Req("POST", "/infer", {{"content-type", "text/plain"}})).error.message(),
            "Content-Type 'text/plain' is not accepted; send the JSON body with 'Content-Type: "
            "application/json' (curl: -H 'Content-Type: application/json')");
}

TEST(AccessPolicyTest, RefusesBadSettings) {
  for (const char* o : {"localhost:3000", "http://x/path", "null", ""}) {
    auto p = AccessPolicy::Create({{}, {o}, {}, false});
    ASSERT_FALSE(p.ok()) << o;
    EXPECT_EQ(p.status().message().rfind("--cors-origins: '", 0), 0u) << p.status().message();
  }
  for (const char* h : {"modeld.lan:8080", "http://x", "", "a b"}) {
    auto p = AccessPolicy::Create({{}, {}, {h}, false});
    ASSERT_FALSE(p.ok()) << h;
    EXPECT_EQ(p.status().message().rfind("--allowed-hosts: '", 0), 0u) << p.status().message();
  }
}

TEST(AccessPolicyTest, ChecksABeastRequest) {
  const AccessPolicy p = MakePolicy({{"sk-1"}, {}, {}, false});
  HttpRequest req{http::verb::post, "/infer?x=1", 11};
  req.set(http::field::host, "localhost:8080");
  req.set(http::field::content_type, "text/plain");
  EXPECT_EQ(Outcome(p.Check(req, "/infer", "POST")), "invalid_api_key");
  req.set(http::field::authorization, "Bearer sk-1");
  EXPECT_EQ(Outcome(p.Check(req, "/infer", "POST")), "unsupported_media_type");
  req.set(http::field::content_type, "application/json");
  EXPECT_EQ(Outcome(p.Check(req, "/infer", "POST")), "pass");
}

}  // namespace
}  // namespace modeld::httpapi
