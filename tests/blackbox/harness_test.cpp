// Checks the black-box harness itself, without modeld: the stream parsers,
// the UTF-8 check, the child-process runner and the incremental HTTP reader
// (against a scripted in-process server).

#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <thread>

#include <boost/asio.hpp>

#include "tests/blackbox/event_parser.h"
#include "tests/blackbox/http_client.h"
#include "tests/blackbox/process.h"

namespace modeld::blackbox {
namespace {

namespace net = boost::asio;
using nlohmann::json;
using tcp = net::ip::tcp;

TEST(EventParserTest, SseEventsSplitAcrossFeeds) {
  EventParser p(StreamFormat::kSse);
  EXPECT_TRUE(p.Feed("event: tok").empty());
  EXPECT_TRUE(p.Feed("en\ndata: {\"text\":\"a\"}\n").empty());
  auto events = p.Feed("\nevent: done\ndata: {\"model\":\"m\"}\n\n: keep-alive\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "token");
  EXPECT_EQ(events[0].data["text"], "a");
  EXPECT_EQ(events[1].type, "done");
  EXPECT_EQ(events[1].data["model"], "m");
  EXPECT_TRUE(p.pending().empty());
  EXPECT_TRUE(p.malformed().empty());
}

TEST(EventParserTest, SseMultiLineDataAndBadJson) {
  EventParser p(StreamFormat::kSse);
  auto events = p.Feed("data: {\"a\":\ndata: 1}\n\nevent: token\ndata: nope\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "message");
  EXPECT_EQ(events[0].data["a"], 1);
  EXPECT_FALSE(events[1].json_ok());
}

TEST(EventParserTest, SseMalformedBlockIsReported) {
  EventParser p(StreamFormat::kSse);
  EXPECT_TRUE(p.Feed("garbage line\n\nevent: token\n\n").empty());
  EXPECT_EQ(p.malformed().size(), 2u);
}

TEST(EventParserTest, NdjsonTypesAndPartialLines) {
  EventParser p(StreamFormat::kNdjson);
  EXPECT_TRUE(p.Feed("{\"type\":\"token\",\"text\":\"h").empty());
  auto events = p.Feed("i\"}\n{\"type\":\"done\"}\n{\"type\":");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "token");
  EXPECT_EQ(events[0].data["text"], "hi");
  EXPECT_EQ(events[1].type, "done");
  EXPECT_EQ(p.pending(), "{\"type\":");
}

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x99\x82"));
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBD"));  // U+FFFD
}

TEST(Utf8Test, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));          // truncated 3-byte
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(ChildProcessTest, CapturesOutputAndExitCode) {
  auto r =
      RunToExit({"/bin/sh", {"-c", "echo out; echo err1 >&2; printf err2 >&2; exit 3"}, {}, ""},
                Millis(5000));
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err1\nerr2");
}

TEST(ChildProcessTest, PassesEnvironmentAndWorkingDirectory) {
  auto r =
      RunToExit({"/bin/sh", {"-c", "echo $BB_VAR; pwd"}, {{"BB_VAR", "v42"}}, "/"}, Millis(5000));
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.out, "v42\n/\n");
}

TEST(ChildProcessTest, TimesOutThenSignals) {
  std::string error;
  auto child =
      ChildProcess::Spawn({"/bin/sh", {"-c", "echo ready >&2; exec sleep 30"}, {}, ""}, &error);
  ASSERT_NE(child, nullptr) << error;
  ASSERT_TRUE(
      child->WaitForStderr([](const std::string& l) { return l == "ready"; }, Millis(5000)));
  EXPECT_FALSE(child->WaitExit(Millis(100)).has_value());
  ASSERT_TRUE(child->Signal(SIGTERM));
  auto r = child->WaitExit(Millis(5000));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->signal, SIGTERM);
}

TEST(ChildProcessTest, RunToExitKillsAHangingProgram) {
  auto start = std::chrono::steady_clock::now();
  auto r = RunToExit({"/bin/sh", {"-c", "exec sleep 30"}, {}, ""}, Millis(200));
  EXPECT_FALSE(r.exited);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// A one-connection server that sends a chunked SSE response in two parts,
// the second only after `release` is set; it reports what it saw.
class ScriptedServer {
 public:
  ScriptedServer() : acceptor_(ioc_, tcp::endpoint(net::ip::address_v4::loopback(), 0)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedServer() { thread_.join(); }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::promise<void> release;
  std::promise<bool> peer_closed;  // true: the client closed before part two

 private:
  void Run() {
    tcp::socket sock(ioc_);
    acceptor_.accept(sock);
    net::streambuf req;
    boost::system::error_code ec;
    net::read_until(sock, req, "\r\n\r\n", ec);
    std::string head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    std::string part1 = "event: token\ndata: {\"text\":\"a\"}\n\n";
    net::write(sock, net::buffer(head + Chunk(part1)), ec);
    release.get_future().wait();
    // A closed peer shows up as EOF on read.
    sock.non_blocking(true);
    char c;
    sock.read_some(net::buffer(&c, 1), ec);
    peer_closed.set_value(ec == net::error::eof || ec == net::error::connection_reset);
    std::string part2 = "event: done\ndata: {\"model\":\"m\"}\n\n";
    net::write(sock, net::buffer(Chunk(part2) + "0\r\n\r\n"), ec);
  }
  static std::string Chunk(const std::string& s) {
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", s.size());
    return len + s + "\r\n";
  }
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(HttpClientTest, StreamYieldsEventsBeforeTheBodyEnds) {
  ScriptedServer server;
  auto closed = server.peer_closed.get_future();
  {
    InferStream s(server.port(), json{{"prompt", "x"}}, StreamFormat::kSse, Millis(5000));
    ASSERT_TRUE(s.AwaitHeaders(Millis(5000))) << s.error();
    EXPECT_EQ(s.http().status(), 200);
    EXPECT_TRUE(s.IsStream());
    auto first = s.Next(Millis(5000));
    ASSERT_TRUE(first.has_value()) << s.error();
    EXPECT_EQ(first->type, "token");
    // The rest is held back by the server: Next must time out, not hang.
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(s.Next(Millis(200)).has_value());
    EXPECT_TRUE(s.timed_out());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  }
  server.release.set_value();
  EXPECT_TRUE(closed.get());
}

TEST(HttpClientTest, FinishCollectsAWholeStream) {
  ScriptedServer server;
  server.release.set_value();
  auto r = Infer(server.port(), json{{"prompt", "x"}}, StreamFormat::kSse, Millis(5000));
  EXPECT_TRUE(r.transport_error.empty()) << r.Describe();
  EXPECT_TRUE(r.problems.empty()) << r.Describe();
  EXPECT_EQ(r.text, "a");
  ASSERT_TRUE(r.done.has_value());
  EXPECT_EQ((*r.done)["model"], "m");
}

TEST(HttpClientTest, ConnectionRefusedIsAnErrorNotAHang) {
  int port;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    port = a.local_endpoint().port();
  }
  auto r = Get(port, "/healthz", Millis(2000));
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace modeld::blackbox
