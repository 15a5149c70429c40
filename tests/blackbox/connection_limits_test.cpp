// Hardening: --max-connections (an idle connection makes room, else the new
// one is closed), accepting at the open-files limit backs off instead of
// spinning, and a connection holding an incomplete body costs the bytes it
// sent, not the Content-Length it announced.

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tests/blackbox/fixture.h"
#include "tests/blackbox/raw_connection.h"

namespace modeld::blackbox {
namespace {

class ConnectionLimitsTest : public BlackboxTest {
 protected:
  Server* StartWith(std::vector<std::string> flags, const std::string& default_model = "tiny") {
    ServerOptions options;
    options.extra_args = std::move(flags);
    return StartServer(ConfigYaml(default_model, StandardModels()), options, default_model);
  }
};

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const Millis kBound(30000);

bool Healthy(RawConnection& c) {
  if (!c.Send(kHealthz)) return false;
  auto r = c.ReadResponse(kBound);
  return r.has_value() && r->status == 200;
}

TEST_F(ConnectionLimitsTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
  Server* s = StartWith({"--max-connections", "2"});
  ASSERT_NE(s, nullptr);
  RawConnection a(s->port());
  ASSERT_TRUE(Healthy(a)) << a.error();
  RawConnection b(s->port());
  ASSERT_TRUE(Healthy(b)) << b.error();
  RawConnection c(s->port());  // the third: a, idle longest, gives way
  ASSERT_TRUE(Healthy(c)) << c.error();
  EXPECT_TRUE(a.WaitClosed(kBound)) << "the longest idle connection was not closed";
  EXPECT_TRUE(Healthy(b)) << b.error();
}

TEST_F(ConnectionLimitsTest, AtTheCapWithEveryConnectionBusyTheNewOneIsClosed) {
  // small generates for minutes, so both streams are still running below.
  Server* s = StartWith({"--max-connections", "2"}, "small");
  ASSERT_NE(s, nullptr);
  auto a = std::make_unique<InferStream>(s->port(), LongBody());
  InferStream b(s->port(), LongBody());
  ASSERT_TRUE(a->Next(kBound).has_value()) << a->error();
  ASSERT_TRUE(b.Next(kBound).has_value()) << b.error();
  {
    RawConnection refused(s->port());
    refused.Send(kHealthz);  // may fail: the server may have closed it already
    EXPECT_TRUE(refused.WaitClosed(kBound));
    EXPECT_TRUE(refused.data().empty()) << refused.data();
  }
  ASSERT_TRUE(s->WaitForLog(
                   [](const json& l) {
                     return Str(l, "msg").rfind("connection limit reached", 0) == 0 &&
                            l.value("max_connections", 0) == 2;
                   },
                   kBound)
                  .has_value());
  // A slot frees when a client leaves.
  a.reset();
  ASSERT_TRUE(
      s->WaitForLog(
           [](const json& l) { return Str(l, "msg") == "request" && l.value("status", 0) == 499; },
           kBound)
          .has_value());
  RawConnection d(s->port());
  EXPECT_TRUE(Healthy(d)) << d.error();
}

// At the open-files limit accept() fails and the connection stays in the
// backlog; retrying at once spun a core and logged ~17 MB/s.
TEST_F(ConnectionLimitsTest, AcceptAtTheFileLimitPausesWithOneLogLine) {
  TempDir dir;
  const std::string config = (dir.path() / "models.yaml").string();
  std::ofstream(config) << ConfigYaml("", StandardModels());
  std::string error;
  auto server =
      Server::StartRaw({"/bin/sh",
                        {"-c", "ulimit -n 40 && exec \"$0\" \"$@\"", ModeldBin(), "--config",
                         config, "--host", "127.0.0.1", "--port", "0", "--max-connections", "1000"},
                        {},
                        ""},
                       &error, Millis(30000));
  ASSERT_NE(server, nullptr) << error;
  {
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 60; ++i) {
      held.push_back(std::make_unique<RawConnection>(server->port()));
      ASSERT_TRUE(held.back()->connected()) << i << ": " << held.back()->error();
    }
    ASSERT_TRUE(
        server->WaitForLog([](const json& l) { return Str(l, "msg") == "accept paused"; }, kBound)
            .has_value())
        << "accept never failed: raise the connection count";
  }
  // The clients left: the server accepts again.
  auto r = Get(server->port(), "/healthz", kBound);
  EXPECT_EQ(r.status, 200) << r.error;
  ASSERT_TRUE(
      server->WaitForLog([](const json& l) { return Str(l, "msg") == "accept resumed"; }, kBound)
          .has_value());
  size_t paused = 0;
  for (const auto& l : server->Logs()) {
    EXPECT_NE(Str(l, "msg"), "accept failed") << l;
    paused += Str(l, "msg") == "accept paused" ? 1 : 0;
  }
  EXPECT_EQ(paused, 1u);
}

// Two bodies of 60000 bytes, each 55000 in, against a budget of 100000:
// whichever is read second pushes the total over and gets 503; the other
// one completes.
TEST_F(ConnectionLimitsTest, IncompleteBodiesShareOneBudget) {
  Server* s = StartWith({"--max-pending-body-bytes", "100000"});
  ASSERT_NE(s, nullptr);
  json j = InferBody("budget", 1);
  j["pad"] = "";
  j["pad"] = std::string(60000 - j.dump().size(), ' ');
  const std::string body = j.dump();
  ASSERT_EQ(body.size(), 60000u);
  const std::string head =
      "POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n\r\n";
  RawConnection a(s->port());
  RawConnection b(s->port());
  ASSERT_TRUE(a.Send(head + body.substr(0, 55000)));
  ASSERT_TRUE(b.Send(head + body.substr(0, 55000)));
  ASSERT_TRUE(s->WaitForLog(
                   [](const json& l) {
                     return Str(l, "msg") == "request" && l.value("status", 0) == 503 &&
                            Str(l, "path") == "/infer";
                   },
                   kBound)
                  .has_value())
      << "110000 bytes of incomplete bodies were held under a budget of 100000";
  std::vector<int> statuses;
  for (RawConnection* c : {&a, &b}) {
    c->Send(body.substr(55000));  // fails on the refused one, which may be closed
    auto r = c->ReadResponse(kBound);
    ASSERT_TRUE(r.has_value()) << c->error();
    statuses.push_back(r->status);
    if (r->status == 503) {
      EXPECT_EQ(json::parse(r->body, nullptr, false)["error"]["code"], "queue_full") << r->body;
      EXPECT_EQ(r->Header("retry-after"), "1");
    }
  }
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 503}));
}

size_t VmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// 64 connections announce a 1 MB body each and send one byte. The 100
// Continue tells the test that each header was parsed (the moment the old
// body type reserved the whole length).
TEST_F(ConnectionLimitsTest, IncompleteBodiesCostWhatArrivedNotWhatWasAnnounced) {
  Server* s = StartWith({}, "");
  ASSERT_NE(s, nullptr);
  RawConnection warm(s->port());
  ASSERT_TRUE(Healthy(warm));
  const size_t before = VmRssKb(s->process().pid());
  ASSERT_GT(before, 0u);
  constexpr int kConnections = 64;
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < kConnections; ++i) {
    auto c = std::make_unique<RawConnection>(s->port());
    ASSERT_TRUE(c->Send(
        "POST /infer HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: "
        "1000000\r\n\r\n"));
    auto interim = c->ReadResponse(kBound);
    ASSERT_TRUE(interim.has_value() && interim->status == 100) << i << ": " << c->error();
    ASSERT_TRUE(c->Send("{"));
    held.push_back(std::move(c));
  }
  ASSERT_TRUE(Healthy(warm));  // the io thread has moved on past every byte above
  const size_t after = VmRssKb(s->process().pid());
  // Announced: 64 MB. Allowed: 128 KiB per connection for buffers and bookkeeping.
  EXPECT_LT(after - std::min(after, before), size_t{kConnections} * 128)
      << "RSS " << before << " kB -> " << after << " kB";
}

}  // namespace
}  // namespace modeld::blackbox
