// Issue 3, rules 9 and 10: an implicit switch cancels everything on the old
// model (running streams, queued and non-streaming requests) with a message
// naming the new model; concurrent requests for one target share one load;
// a third model supersedes a pending switch.

#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class SwitchTest : public BlackboxTest {
 protected:
  void SetUp() override {
    BlackboxTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = StartStandard("tiny");
    ASSERT_NE(server_, nullptr);
  }
  int port() const { return server_->port(); }
  // Switch lines to `to`. The server logs a switch before the requests it
  // serves run, so once a request's own line is in, its switch line is too;
  // this waits for the first switch line to `to` to have been read.
  std::vector<json> SwitchesTo(const std::string& to) {
    server_->WaitForLog([&](const json& l) { return IsSwitchTo(l, to); }, Millis(5000));
    std::vector<json> out;
    for (auto& l : server_->LogsWithMsg("switch")) {
      if (Str(l, "to") == to) out.push_back(l);
    }
    return out;
  }
  Server* server_ = nullptr;
};

// A request that ended because of a switch: an error event or a JSON error
// status, code "cancelled", and the message names the new model.
void ExpectCancelledFor(const InferResult& r, const std::string& new_model) {
  EXPECT_TRUE(r.transport_error.empty()) << r.Describe();
  EXPECT_TRUE(r.problems.empty()) << r.Describe();
  EXPECT_FALSE(r.done.has_value()) << r.Describe();
  EXPECT_EQ(r.ErrorCode(), "cancelled") << r.Describe();
  if (r.error) {
    EXPECT_NE(Str(*r.error, "message").find(new_model), std::string::npos) << r.Describe();
  }
  EXPECT_TRUE(r.status == 200 || r.status == 409) << r.Describe();
}

TEST_F(SwitchTest, SwitchWhileStreamingCancelsTheOldStreamAndServesTheNew) {
  InferStream old_stream(port(), LongBody());
  ASSERT_TRUE(old_stream.AwaitHeaders(Millis(10000))) << old_stream.error();
  ASSERT_EQ(old_stream.http().status(), 200);
  auto first = old_stream.Next(Millis(5000));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->type, "token");

  auto fresh = Infer(port(), InferBody("new model please", 8, {{"model", "tiny-b"}}));
  ExpectCompleted(fresh, "tiny-b");
  EXPECT_GT((*fresh.done)["timings"]["switch_ms"].get<double>(), 0.0) << fresh.Describe();

  auto old = Finish(old_stream, Millis(10000));
  ExpectCancelledFor(old, "tiny-b");
  EXPECT_EQ(old.events.back().type, "error");

  auto switches = SwitchesTo("tiny-b");
  ASSERT_EQ(switches.size(), 1u);
  EXPECT_EQ(Str(switches[0], "from"), "tiny");
  EXPECT_EQ(Str(switches[0], "outcome"), "ok");
  ExpectReadyz(port(), 200, "ready", "tiny-b");
}

TEST_F(SwitchTest, QueuedRequestsForTheOldModelAreCancelled) {
  // One sequence at a time, so the next two requests wait in the queue.
  server_ = StartStandard("tiny", "parallel: 1\n");
  ASSERT_NE(server_, nullptr);
  InferStream running(port(), LongBody("tiny"));
  ASSERT_TRUE(running.AwaitHeaders(Millis(10000))) << running.error();
  ASSERT_TRUE(running.Next(Millis(5000)).has_value());
  InferStream queued(port(), InferBody("queued for tiny", 4, {{"model", "tiny"}}));
  InferStream queued_nonstream(port(),
                               InferBody("queued too", 4, {{"model", "tiny"}, {"stream", false}}));
  ASSERT_TRUE(server_->WaitForMetric(
      "modeld_queue_depth", [](double v) { return v == 2; }, Millis(10000)));

  auto fresh = Infer(port(), InferBody("switch", 4, {{"model", "tiny-b"}}));
  ExpectCompleted(fresh, "tiny-b");
  ExpectCancelledFor(Finish(running, Millis(10000)), "tiny-b");
  ExpectCancelledFor(Finish(queued, Millis(10000)), "tiny-b");
  auto nonstream = Finish(queued_nonstream, Millis(10000));
  ExpectCancelledFor(nonstream, "tiny-b");
  EXPECT_EQ(nonstream.status, 409) << nonstream.Describe();
}

TEST_F(SwitchTest, NonStreamingRequestCancelledBySwitchIs409) {
  json body = LongBody("tiny");
  body["stream"] = false;
  InferStream running(port(), body);
  // Generating: accepted (in flight) and no longer waiting in the queue.
  ASSERT_TRUE(server_->WaitForMetric(
      "modeld_inflight_requests", [](double v) { return v == 1; }, Millis(10000)));
  ASSERT_TRUE(server_->WaitForMetric(
      "modeld_queue_depth", [](double v) { return v == 0; }, Millis(10000)));
  ExpectCompleted(Infer(port(), InferBody("switch", 4, {{"model", "tiny-b"}})), "tiny-b");
  auto r = Finish(running, Millis(10000));
  ExpectCancelledFor(r, "tiny-b");
  EXPECT_EQ(r.status, 409) << r.Describe();
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u);
}

TEST_F(SwitchTest, ConcurrentRequestsForTheSameTargetShareOneLoad) {
  constexpr int kClients = 6;
  std::vector<InferResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          Infer(port(), InferBody("shared load " + std::to_string(i), 4, {{"model", "small"}}));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) ExpectCompleted(r, "small");
  auto switches = SwitchesTo("small");
  ASSERT_EQ(switches.size(), 1u) << "duplicate loads for one target";
  EXPECT_EQ(Str(switches[0], "outcome"), "ok");
}

TEST_F(SwitchTest, ThirdModelSupersedesAPendingSwitch) {
  // small takes ~0.1-0.2 s to load; tiny-b is asked for while it loads.
  InferStream to_small(port(), InferBody("to small", 4, {{"model", "small"}}));
  ASSERT_TRUE(server_->WaitForLoadStart("small", Millis(10000)));
  auto to_tiny_b = Infer(port(), InferBody("to tiny-b", 4, {{"model", "tiny-b"}}));
  ExpectCompleted(to_tiny_b, "tiny-b");
  ExpectCancelledFor(Finish(to_small, Millis(10000)), "tiny-b");
  for (const auto& l : SwitchesTo("small")) {
    EXPECT_NE(Str(l, "outcome"), "ok") << "the superseded load completed: " << l;
  }
  auto to_b = SwitchesTo("tiny-b");
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_EQ(Str(to_b[0], "outcome"), "ok");
  ExpectReadyz(port(), 200, "ready", "tiny-b");
}

TEST_F(SwitchTest, SwitchingBackAndForthServesEachModel) {
  for (const std::string model : {"tiny-b", "small", "tiny", "small", "tiny-b"}) {
    auto r = Infer(port(), InferBody("round trip", 4, {{"model", model}}));
    ExpectCompleted(r, model);
    ExpectReadyz(port(), 200, "ready", model);
    // Omitting the model now means this one.
    ExpectCompleted(Infer(port(), InferBody("same", 2)), model);
  }
  EXPECT_EQ(SwitchesTo("small").size(), 2u);
}

TEST_F(SwitchTest, SameTextAfterSwitchingAwayAndBack) {
  auto before = Infer(port(), InferBody("stable output", 16));
  ExpectCompleted(Infer(port(), InferBody("elsewhere", 2, {{"model", "tiny-b"}})), "tiny-b");
  auto after = Infer(port(), InferBody("stable output", 16, {{"model", "tiny"}}));
  ExpectCompleted(before, "tiny");
  ExpectCompleted(after, "tiny");
  EXPECT_EQ(before.text, after.text);
  // tiny-b is another model: its greedy text differs.
  auto other = Infer(port(), InferBody("stable output", 16, {{"model", "tiny-b"}}));
  ExpectCompleted(other, "tiny-b");
  EXPECT_NE(other.text, before.text);
}

}  // namespace
}  // namespace modeld::blackbox
