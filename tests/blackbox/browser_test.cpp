// Hardening: a web page on another origin cannot use modeld. Raw requests as
// curl and browsers send them: "simple" POST bodies (text/plain, forms) are
// 415 before anything runs; Origin must be same-origin or in --cors-origins
// (with preflights and CORS headers for those); Host must be an IP, localhost
// or in --allowed-hosts (DNS rebinding).

#include "tests/blackbox/fixture.h"
#include "tests/blackbox/raw_client.h"

namespace modeld::blackbox {
namespace {

class BrowserTest : public BlackboxTest {};

const std::string kBody = R"({"prompt":"hi","max_tokens":2,"temperature":0,"stream":false})";

void ExpectRawError(const RawReply& r, int status, const std::string& code) {
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u) << r.Header("content-type");
  auto j = r.Json();
  ASSERT_TRUE(j.is_object() && j["error"].is_object()) << r.body;
  EXPECT_EQ(Str(j["error"], "code"), code) << r.body;
}

TEST_F(BrowserTest, SimpleRequestBodiesAre415BeforeAnythingRuns) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const int port = s->port();
  // What a cross-origin <form> or fetch() without a preflight can send, and curl -d.
  for (const std::string type : {"text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "text/plain"}) {
    SCOPED_TRACE(type);
    auto r = RawRequest(port, RawPost(port, "/infer", "Content-Type: " + type + "\r\n", kBody));
    ExpectRawError(r, 415, "unsupported_media_type");
    EXPECT_NE(Str(r.Json()["error"], "message").find("application/json"), std::string::npos);
    auto chat = RawRequest(
        port, RawPost(port, "/v1/chat/completions", "Content-Type: " + type + "\r\n",
                      R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})"));
    ExpectRawError(chat, 415, "unsupported_media_type");
    EXPECT_EQ(Str(chat.Json()["error"], "type"), "invalid_request_error") << chat.body;
  }
  // None of them reached the manager.
  auto m = Get(port, "/metrics");
  EXPECT_EQ(m.body.find("modeld_prompt_tokens_total{"), std::string::npos) << m.body;
  // JSON, with parameters and in any case, and no Content-Type at all
  // (HTTP/1.0, no Host: a minimal non-browser client) are served.
  auto json = RawRequest(
      port, RawPost(port, "/infer", "Content-Type: Application/JSON; charset=utf-8\r\n", kBody));
  EXPECT_EQ(json.status, 200) << json.body;
  auto bare =
      RawRequest(port, "POST /infer HTTP/1.0\r\nContent-Length: " + std::to_string(kBody.size()) +
                           "\r\n\r\n" + kBody);
  EXPECT_EQ(bare.status, 200) << bare.error << bare.body;
}

TEST_F(BrowserTest, ForeignOriginsAreRefusedSameOriginIsServed) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const int port = s->port();
  const std::string json = "Content-Type: application/json\r\n";
  for (const std::string& origin :
       std::vector<std::string>{"https://evil.test", "http://localhost:3000", "null",
                                "http://127.0.0.1:" + std::to_string(port + 1)}) {
    SCOPED_TRACE(origin);
    auto r = RawRequest(port, RawPost(port, "/infer", json + "Origin: " + origin + "\r\n", kBody));
    ExpectRawError(r, 403, "origin_not_allowed");
    EXPECT_FALSE(r.HasHeader("access-control-allow-origin"));
    auto pre =
        RawRequest(port, "OPTIONS /infer HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                             "\r\nOrigin: " + origin +
                             "\r\nAccess-Control-Request-Method: POST\r\n"
                             "Connection: close\r\n\r\n");
    ExpectRawError(pre, 403, "origin_not_allowed");
    EXPECT_FALSE(pre.HasHeader("access-control-allow-origin"));
  }
  // The page modeld itself would serve: same scheme, host and port.
  auto same = RawRequest(
      port, RawPost(port, "/infer",
                    json + "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n", kBody));
  EXPECT_EQ(same.status, 200) << same.body;
}

TEST_F(BrowserTest, ListedOriginsGetPreflightsAndCorsHeaders) {
  Server* s = StartServer(
      ConfigYaml("tiny", StandardModels()),
      {{"--cors-origins", "http://localhost:3000,https://app.test"}, 1, {}, Millis(30000)}, "tiny");
  ASSERT_NE(s, nullptr);
  const int port = s->port();
  const std::string host = "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  auto pre = RawRequest(port, "OPTIONS /v1/chat/completions HTTP/1.1\r\n" + host +
                                  "Origin: https://app.test\r\n"
                                  "Access-Control-Request-Method: POST\r\n"
                                  "Access-Control-Request-Headers: authorization, content-type\r\n"
                                  "Connection: close\r\n\r\n");
  ASSERT_TRUE(pre.error.empty()) << pre.error;
  EXPECT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.Header("access-control-allow-origin"), "https://app.test");
  EXPECT_EQ(pre.Header("access-control-allow-methods"), "POST");
  EXPECT_EQ(pre.Header("access-control-allow-headers"), "authorization, content-type");
  EXPECT_EQ(pre.Header("vary"), "Origin");
  EXPECT_TRUE(pre.body.empty()) << pre.body;

  // The actual requests carry Access-Control-Allow-Origin: plain, streamed, errors.
  const std::string headers = "Content-Type: application/json\r\nOrigin: http://localhost:3000\r\n";
  auto plain = RawRequest(port, RawPost(port, "/infer", headers, kBody));
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.Header("access-control-allow-origin"), "http://localhost:3000");
  auto streamed = RawRequest(port, RawPost(port, "/v1/completions", headers,
                                           R"({"prompt":"hi","max_tokens":2,"stream":true})"));
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_EQ(streamed.Header("content-type"), "text/event-stream");
  EXPECT_EQ(streamed.Header("access-control-allow-origin"), "http://localhost:3000");
  EXPECT_NE(streamed.body.find("[DONE]"), std::string::npos) << streamed.body;
  auto bad = RawRequest(port, RawPost(port, "/infer", headers, R"({"prompt":""})"));
  ExpectRawError(bad, 400, "invalid_request");
  EXPECT_EQ(bad.Header("access-control-allow-origin"), "http://localhost:3000");
  // The next response on a kept-alive connection does not inherit them.
  HttpExchange x(port, "GET", "/healthz", "", {}, Millis(5000));
  ASSERT_TRUE(x.AwaitHeaders(Millis(5000))) << x.error();
  EXPECT_EQ(x.Header("access-control-allow-origin"), "");
}

TEST_F(BrowserTest, HostMustBeThisServer) {
  Server* s = StartServer(ConfigYaml("tiny", StandardModels()),
                          {{"--allowed-hosts", "modeld.lan"}, 1, {}, Millis(30000)}, "tiny");
  ASSERT_NE(s, nullptr);
  const int port = s->port();
  auto get = [port](const std::string& host) {
    return RawRequest(port,
                      "GET /models HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  };
  for (const std::string& host :
       std::vector<std::string>{"attacker.test:" + std::to_string(port), "attacker.test",
                                "127.0.0.1.nip.io", "modeld.lan.attacker.test"}) {
    SCOPED_TRACE(host);
    ExpectRawError(get(host), 403, "host_not_allowed");
  }
  for (const std::string& host :
       std::vector<std::string>{"127.0.0.1:" + std::to_string(port), "localhost:1", "[::1]:80",
                                "LOCALHOST", "modeld.lan:" + std::to_string(port)}) {
    SCOPED_TRACE(host);
    EXPECT_EQ(get(host).status, 200);
  }
  // HTTP/1.0 without Host: not a browser.
  EXPECT_EQ(RawRequest(port, "GET /models HTTP/1.0\r\n\r\n").status, 200);
}

}  // namespace
}  // namespace modeld::blackbox
