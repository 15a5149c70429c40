// Hardening: every connection state has a deadline (--header-timeout,
// --body-timeout, --idle-timeout, --write-timeout). The tests set them to
// 1 s and wait for the server's reaction with a generous bound; nothing
// depends on how fast the machine is.

#include "tests/blackbox/fixture.h"
#include "tests/blackbox/raw_connection.h"

namespace modeld::blackbox {
namespace {

class ConnectionDeadlinesTest : public BlackboxTest {
 protected:
  Server* StartWith(std::vector<std::string> flags, const std::string& extra = "") {
    ServerOptions options;
    options.extra_args = std::move(flags);
    return StartServer(ConfigYaml("tiny", StandardModels(), extra), options, "tiny");
  }
};

std::string InferRequest(const json& body, const std::string& path = "/infer") {
  const std::string b = body.dump();
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
}

const Millis kBound(30000);  // far above every deadline the tests set

TEST_F(ConnectionDeadlinesTest, IdleKeepAliveClosesAfterAStreamedResponse) {
  Server* s = StartWith({"--idle-timeout", "1"});
  ASSERT_NE(s, nullptr);
  for (const std::string& request :
       {InferRequest(InferBody("idle", 4)),
        InferRequest({{"model", "tiny"},
                      {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                      {"max_tokens", 4},
                      {"stream", true}},
                     "/v1/chat/completions"),
        InferRequest(InferBody("idle", 4, {{"stream", false}}))}) {
    RawConnection c(s->port());
    ASSERT_TRUE(c.Send(request));
    auto r = c.ReadResponse(kBound);
    ASSERT_TRUE(r.has_value()) << c.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_NE(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitClosed(kBound)) << "the keep-alive connection never timed out";
    EXPECT_TRUE(c.data().empty()) << c.data();
  }
}

TEST_F(ConnectionDeadlinesTest, IdleKeepAliveClosesAfterAPlainResponse) {
  Server* s = StartWith({"--idle-timeout", "1"});
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(c.ReadResponse(kBound).has_value()) << c.error();
  EXPECT_TRUE(c.WaitClosed(kBound));
}

TEST_F(ConnectionDeadlinesTest, HeaderDeadlineClosesSilentAndSlowClients) {
  Server* s = StartWith({"--header-timeout", "1", "--idle-timeout", "600"});
  ASSERT_NE(s, nullptr);
  RawConnection silent(s->port());
  RawConnection slow(s->port());
  ASSERT_TRUE(slow.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"));
  EXPECT_TRUE(silent.WaitClosed(kBound)) << "a connection that never sent a byte stayed open";
  EXPECT_TRUE(slow.WaitClosed(kBound)) << "an incomplete header stayed open";
  EXPECT_TRUE(slow.data().empty()) << slow.data();
}

TEST_F(ConnectionDeadlinesTest, BodyDeadlineAnswers408AndCloses) {
  Server* s = StartWith({"--body-timeout", "1"});
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port());
  ASSERT_TRUE(
      c.Send("POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"prompt\""));
  auto r = c.ReadResponse(kBound);
  ASSERT_TRUE(r.has_value()) << c.error();
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(json::parse(r->body, nullptr, false)["error"]["code"], "request_timeout") << r->body;
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(kBound));
  auto line = s->WaitForLog(
      [](const json& l) { return Str(l, "msg") == "request" && l.value("status", 0) == 408; },
      kBound);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Str(*line, "path"), "/infer");
}

// A small socket buffer on both ends makes the server's writes block as soon
// as the client stops reading; the write deadline then drops the client and
// cancels its generation.
TEST_F(ConnectionDeadlinesTest, WriteDeadlineDropsAClientThatStopsReading) {
  Server* s = StartWith({"--write-timeout", "1", "--socket-send-buffer", "4096"});
  ASSERT_NE(s, nullptr);
  RawConnection c(s->port(), /*rcvbuf=*/4096);
  ASSERT_TRUE(c.Send(InferRequest(LongBody())));
  auto line = s->WaitForLog(
      [](const json& l) { return Str(l, "msg") == "request" && Str(l, "path") == "/infer"; },
      Millis(60000));
  ASSERT_TRUE(line.has_value()) << "the stalled client was never dropped";
  EXPECT_EQ((*line)["status"], 499) << *line;
  EXPECT_EQ(Str(*line, "outcome"), "cancelled") << *line;
  // The server is free for others.
  ExpectCompleted(Infer(s->port(), InferBody("next", 4)), "tiny");
}

}  // namespace
}  // namespace modeld::blackbox
