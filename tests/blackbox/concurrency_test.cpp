// Issue 3 acceptance: 30 concurrent requests alternating between two models
// all end with a complete stream or a clear error, none hangs, and the
// service is healthy and ready afterwards.

#include <set>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class ConcurrencyTest : public BlackboxTest {};

// Every outcome an alternating client may legitimately see.
void ExpectCompleteOrClearError(const InferResult& r, const std::string& model, int i) {
  SCOPED_TRACE("request " + std::to_string(i) + " for " + model);
  EXPECT_TRUE(r.transport_error.empty()) << r.Describe();
  EXPECT_TRUE(r.problems.empty()) << r.Describe();
  if (r.done) {
    EXPECT_EQ(r.status, 200) << r.Describe();
    ExpectDoneShape(*r.done, model);
    return;
  }
  const std::string code = r.ErrorCode();
  static const std::set<std::string> kClear = {"cancelled", "queue_full"};
  EXPECT_TRUE(kClear.count(code) == 1) << "unexpected end: " << r.Describe();
  EXPECT_FALSE(Str(*r.error, "message").empty()) << r.Describe();
  if (r.status != 200) {
    EXPECT_EQ(r.status, code == "cancelled" ? 409 : 503) << r.Describe();
  }
}

void RunAlternating(Server* s, int clients, int max_tokens) {
  std::vector<InferResult> results(clients);
  std::vector<std::string> models(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    models[i] = i % 2 == 0 ? "tiny" : "tiny-b";
    threads.emplace_back([&, i] {
      json extra = {{"model", models[i]}, {"temperature", 1.0}, {"seed", i}};
      StreamFormat format = StreamFormat::kSse;
      if (i % 3 == 1) format = StreamFormat::kNdjson;
      if (i % 3 == 2) extra["stream"] = false;
      results[i] = Infer(s->port(), InferBody("client " + std::to_string(i), max_tokens, extra),
                         format, Millis(60000));
    });
  }
  for (auto& t : threads) t.join();
  int done = 0;
  for (int i = 0; i < clients; ++i) {
    ExpectCompleteOrClearError(results[i], models[i], i);
    done += results[i].done ? 1 : 0;
  }
  EXPECT_GE(done, 1) << "not a single request completed";
}

TEST_F(ConcurrencyTest, ThirtyConcurrentAlternatingRequestsAllEndCleanly) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  RunAlternating(s, 30, 24);

  EXPECT_EQ(Get(s->port(), "/healthz").status, 200);
  auto ready = Get(s->port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  const std::string current = Str(ready.Json(), "model");
  EXPECT_TRUE(current == "tiny" || current == "tiny-b") << ready.body;
  ExpectCompleted(Infer(s->port(), InferBody("after the storm", 8, {{"model", "tiny"}})), "tiny");
  ExpectCompleted(Infer(s->port(), InferBody("and the other", 8, {{"model", "tiny-b"}})), "tiny-b");

  // One request line per /infer request (30 + 2).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  size_t lines = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    lines = 0;
    for (const auto& l : s->LogsWithMsg("request")) lines += Str(l, "path") == "/infer" ? 1 : 0;
    if (lines >= 32) break;
    std::this_thread::sleep_for(Millis(50));
  }
  EXPECT_EQ(lines, 32u);
  // Every switch ended with a definite outcome.
  for (const auto& l : s->LogsWithMsg("switch")) {
    const std::string outcome = Str(l, "outcome");
    EXPECT_TRUE(outcome == "ok" || outcome == "aborted" || outcome == "failed") << l;
    EXPECT_NE(outcome, "failed") << l;
  }
}

TEST_F(ConcurrencyTest, SmallQueueUnderAlternatingLoadStaysResponsive) {
  Server* s = StartStandard("tiny", "max_queue: 2\n");
  ASSERT_NE(s, nullptr);
  RunAlternating(s, 20, 16);
  EXPECT_EQ(Get(s->port(), "/healthz").status, 200);
  auto ready = Get(s->port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  ExpectCompleted(Infer(s->port(), InferBody("after", 4, {{"model", "tiny"}})), "tiny");
}

TEST_F(ConcurrencyTest, ProbesAnswerWhileGenerating) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  InferStream running(s->port(), LongBody());
  ASSERT_TRUE(running.Next(Millis(10000)).has_value()) << running.error();
  // The probes are answered while the stream still runs (its next token
  // comes after them); the timeouts only bound a hang.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Get(s->port(), "/healthz", Millis(10000)).status, 200);
    EXPECT_EQ(Get(s->port(), "/readyz", Millis(10000)).status, 200);
    EXPECT_EQ(Get(s->port(), "/models", Millis(10000)).status, 200);
  }
  auto next = running.Next(Millis(5000));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->type, "token");
  running.Close();
}

}  // namespace
}  // namespace modeld::blackbox
