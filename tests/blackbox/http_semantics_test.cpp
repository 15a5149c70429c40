// Hardening, HTTP semantics over raw sockets: pipelining behind a stream,
// HTTP/1.0, Connection: close, chunked request bodies, Expect:
// 100-continue, a graceful 413, HEAD and 405, what is logged for a rejected
// request, and error messages that do not echo a huge model id.

#include <cstdio>

#include "tests/blackbox/fixture.h"
#include "tests/blackbox/raw_connection.h"

namespace modeld::blackbox {
namespace {

class HttpSemanticsTest : public BlackboxTest {};

std::string Post(const std::string& path, const std::string& body, const std::string& version,
                 const std::string& extra_headers = "") {
  return "POST " + path + " " + version +
         "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
std::string Get(const std::string& path, const std::string& extra_headers = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

// The request log lines for `path`, once there are at least `n`.
std::vector<json> RequestLines(Server* s, const std::string& path, size_t n) {
  s->WaitForLog(
      [&, seen = size_t{0}](const json& l) mutable {
        if (Str(l, "msg") == "request" && Str(l, "path") == path) ++seen;
        return seen >= n;
      },
      Millis(10000));
  std::vector<json> lines;
  for (auto& l : s->LogsWithMsg("request")) {
    if (Str(l, "path") == path) lines.push_back(l);
  }
  return lines;
}

TEST_F(HttpSemanticsTest, RequestPipelinedBehindAStreamIsAnswered) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  ASSERT_TRUE(c.connected()) << c.error();
  ASSERT_TRUE(c.Send(Post("/infer", InferBody("pipelined", 8).dump(), "HTTP/1.1") +
                     Get("/healthz") + Get("/readyz")));
  auto stream = c.ReadResponse(Millis(20000));
  ASSERT_TRUE(stream.has_value()) << c.error();
  EXPECT_EQ(stream->status, 200);
  EXPECT_NE(stream->body.find("event: done"), std::string::npos) << stream->body;
  auto health = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(health.has_value()) << "the request pipelined behind the stream got no answer: "
                                  << c.error();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok"})");
  auto ready = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(ready.has_value()) << c.error();
  EXPECT_EQ(ready->status, 200);
}

TEST_F(HttpSemanticsTest, Http10KeepAliveStreamEndsWithTheClose) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  ASSERT_TRUE(c.Send(
      Post("/infer", InferBody("one oh", 8).dump(), "HTTP/1.0", "Connection: keep-alive\r\n")));
  // No chunked framing in HTTP/1.0: only the close can end the body.
  ASSERT_TRUE(c.WaitClosed(Millis(20000))) << "the HTTP/1.0 stream never ended";
  auto r = c.ReadResponse(Millis(1000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->version, 10u);
  EXPECT_EQ(r->Header("transfer-encoding"), "");
  EXPECT_NE(r->body.find("event: done"), std::string::npos) << r->body;
}

TEST_F(HttpSemanticsTest, Http10KeepAliveServesTwoPlainRequestsThenCloses) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  const std::string keep = "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  ASSERT_TRUE(c.Send(keep + keep));
  for (int i = 0; i < 2; ++i) {
    auto r = c.ReadResponse(Millis(10000));
    ASSERT_TRUE(r.has_value()) << i << ": " << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("content-length"), "15");
  }
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.0\r\n\r\n"));  // no keep-alive: closed after it
  auto r = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_TRUE(c.WaitClosed(Millis(10000)));
}

TEST_F(HttpSemanticsTest, ConnectionCloseEndsTheConnectionAfterTheResponse) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  for (const std::string& request :
       {Get("/healthz", "Connection: close\r\n"),
        Post("/infer", InferBody("close", 4).dump(), "HTTP/1.1", "Connection: close\r\n")}) {
    RawConnection c(s->port());
    ASSERT_TRUE(c.Send(request));
    auto r = c.ReadResponse(Millis(20000));
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed(Millis(10000)));
    EXPECT_TRUE(c.data().empty()) << c.data();
  }
}

TEST_F(HttpSemanticsTest, ChunkedRequestBodiesAreReadAndLimited) {
  Server* s = StartStandard("tiny", "max_body_bytes: 4096\n");
  ASSERT_NE(s, nullptr);
  const std::string body = InferBody("chunked", 4).dump();
  const std::string half = body.substr(0, body.size() / 2);
  const std::string rest = body.substr(body.size() / 2);
  auto hex = [](size_t n) {
    char b[16];
    std::snprintf(b, sizeof b, "%zx", n);
    return std::string(b);
  };
  RawConnection c(s->port());
  ASSERT_TRUE(
      c.Send("POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
             hex(half.size()) + "\r\n" + half + "\r\n" + hex(rest.size()) + "\r\n" + rest +
             "\r\n0\r\n\r\n"));
  auto r = c.ReadResponse(Millis(20000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("event: done"), std::string::npos) << r->body;
  // Over max_body_bytes in chunks: 413, then the connection closes.
  const std::string big(3000, 'a');
  ASSERT_TRUE(c.Send(
      "POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
      hex(big.size()) + "\r\n" + big + "\r\n" + hex(big.size()) + "\r\n" + big + "\r\n0\r\n\r\n"));
  auto too_big = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(too_big.has_value()) << c.error();
  EXPECT_EQ(too_big->status, 413);
  EXPECT_TRUE(c.WaitClosed(Millis(10000)));
}

TEST_F(HttpSemanticsTest, ExpectContinueIsAnsweredBeforeTheBody) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::string body = InferBody("expect", 4).dump();
  RawConnection c(s->port());
  ASSERT_TRUE(
      c.Send("POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(interim.has_value()) << "no 100 Continue: " << c.error();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send(body));
  auto r = c.ReadResponse(Millis(20000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("event: done"), std::string::npos) << r->body;
}

TEST_F(HttpSemanticsTest, ExpectContinueWithATooLargeBodyGetsOnly413) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  ASSERT_TRUE(
      c.Send("POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: "
             "2097152\r\n\r\n"));
  auto r = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("connection"), "close");
}

// The client sends its whole body before it reads: it must see the 413, not
// a reset that the server's close with unread bytes would cause.
TEST_F(HttpSemanticsTest, PayloadTooLargeIsSentGracefullyBeforeTheClose) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::string body(4 << 20, 'a');
  RawConnection c(s->port());
  EXPECT_TRUE(c.Send(Post("/infer", body, "HTTP/1.1"), Millis(30000)))
      << "the upload was reset: " << c.error();
  c.ShutdownSend();
  auto r = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(json::parse(r->body, nullptr, false)["error"]["code"], "payload_too_large") << r->body;
  EXPECT_TRUE(c.WaitClosed(Millis(10000)));
}

TEST_F(HttpSemanticsTest, RejectedRequestsAreLoggedUnderTheirOwnPath) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  {
    RawConnection c(s->port());
    ASSERT_TRUE(c.Send(Get("/healthz")));
    ASSERT_TRUE(c.ReadResponse(Millis(10000)).has_value()) << c.error();
    ASSERT_TRUE(
        c.Send("POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2097152\r\n\r\n"));
    auto r = c.ReadResponse(Millis(10000));
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 413);
  }
  auto infer = RequestLines(s, "/infer", 1);
  ASSERT_EQ(infer.size(), 1u) << "the 413 was not logged under /infer";
  EXPECT_EQ(infer[0]["status"], 413);
  EXPECT_EQ(Str(infer[0], "method"), "POST");
  {
    RawConnection c(s->port());
    ASSERT_TRUE(c.Send(Get("/healthz")));
    ASSERT_TRUE(c.ReadResponse(Millis(10000)).has_value()) << c.error();
    ASSERT_TRUE(c.Send(Get("/models", "X-Big: " + std::string(20 << 10, 'b') + "\r\n")));
    auto r = c.ReadResponse(Millis(10000));
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 400);
  }
  auto models = RequestLines(s, "/models", 1);
  ASSERT_EQ(models.size(), 1u) << "the 400 was not logged under /models";
  EXPECT_EQ(models[0]["status"], 400);
  for (const auto& l : RequestLines(s, "/healthz", 2)) EXPECT_EQ(l.value("status", 0), 200) << l;
}

TEST_F(HttpSemanticsTest, HeadIsGetWithoutTheBody) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  for (const char* path : {"/healthz", "/models", "/metrics", "/v1/models"}) {
    SCOPED_TRACE(path);
    ASSERT_TRUE(c.Send(std::string("HEAD ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto head = c.ReadResponse(Millis(10000), /*head=*/true);
    ASSERT_TRUE(head.has_value()) << c.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_NE(head->Header("content-length"), "");
    EXPECT_TRUE(head->body.empty());
  }
  // Had any body bytes followed a HEAD answer, this would not parse.
  ASSERT_TRUE(c.Send(Get("/healthz")));
  auto r = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->body, R"({"status":"ok"})");
}

TEST_F(HttpSemanticsTest, WrongMethodIs405WithAllow) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  struct Case {
    std::string request;
    std::string allow;
  };
  const std::vector<Case> cases = {
      {"PUT /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n", "GET, HEAD"},
      {"DELETE /models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "GET, HEAD"},
      {"GET /infer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "POST"},
      {"HEAD /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "POST"},
  };
  RawConnection c(s->port());
  for (const auto& k : cases) {
    SCOPED_TRACE(k.request);
    ASSERT_TRUE(c.Send(k.request));
    auto r = c.ReadResponse(Millis(10000), k.request.rfind("HEAD", 0) == 0);
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->Header("allow"), k.allow);
  }
  ASSERT_TRUE(c.Send(Get("/nope")));
  auto r = c.ReadResponse(Millis(10000));
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("allow"), "");
}

TEST_F(HttpSemanticsTest, AHugeUnknownModelIdIsNotEchoedWhole) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::string id(500000, 'm');
  for (const std::string path : {"/infer", "/v1/chat/completions"}) {
    SCOPED_TRACE(path);
    json body = path == "/infer"
                    ? InferBody("hi", 2, {{"model", id}})
                    : json{{"model", id}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    auto r = PostJson(s->port(), path, body);
    ExpectErrorResponse(r, 404, "model_not_found");
    EXPECT_LT(r.body.size(), 1024u);
    EXPECT_NE(r.body.find("(500000 bytes)"), std::string::npos) << r.body;
  }
}

// 64 KiB or more after the request body used to stop the disconnect watch.
// With "stream": false nothing is written until the end, so no failed write
// reveals the disconnect either: the abandoned request ran to its end, was
// logged 200, and the pipelined bytes then gave a phantom 499.
TEST_F(HttpSemanticsTest, DisconnectIsSeenWithPipelinedBytesBeyond64KiB) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  json body = LongBody();
  body["stream"] = false;
  RawConnection c(s->port());
  ASSERT_TRUE(c.Send(Post("/infer", body.dump(), "HTTP/1.1") +
                     Post("/infer", std::string(100 << 10, 'x'), "HTTP/1.1")));
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_running", [](double v) { return v == 1; }, Millis(20000)));
  c.Close();
  auto line = s->WaitForLog(
      [](const json& l) { return Str(l, "msg") == "request" && Str(l, "path") == "/infer"; },
      Millis(10000));
  ASSERT_TRUE(line.has_value()) << "the disconnect was not seen";
  EXPECT_EQ((*line)["status"], 499) << *line;
  EXPECT_EQ(Str(*line, "outcome"), "cancelled") << *line;
  EXPECT_EQ(Str(*line, "cancel_reason"), "disconnect") << *line;
  // A later request is logged after anything that connection could still log.
  ExpectCompleted(Infer(s->port(), InferBody("after", 2)), "small");
  auto lines = RequestLines(s, "/infer", 2);
  EXPECT_EQ(lines.size(), 2u) << "a phantom request was logged";
  EXPECT_EQ(s->Metric("modeld_requests_total{route=\"/infer\",status=\"499\"}"), 1.0);
}

}  // namespace
}  // namespace modeld::blackbox
