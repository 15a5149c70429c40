// Issue 3, rule 18: a client that disconnects has its generation stopped
// within a few tokens; one that leaves while queued or waiting for a load is
// dropped, and a load nobody waits for does not happen.

#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class DisconnectTest : public BlackboxTest {
 protected:
  static bool IsDisconnect(const json& l) {
    return Str(l, "msg") == "request" && Str(l, "outcome") == "cancelled" &&
           Str(l, "cancel_reason") == "disconnect";
  }
  static int Int(const json& j, const std::string& key) {
    return j.contains(key) && j[key].is_number_integer() ? j[key].get<int>() : -1;
  }
};

// small decodes at tens of tokens per second here, so "a few tokens" after
// the disconnect is measurable against kLongTokens.
TEST_F(DisconnectTest, MidStreamDisconnectStopsGenerationWithinAFewTokens) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  {
    InferStream stream(s->port(), LongBody());
    ASSERT_TRUE(stream.AwaitHeaders(Millis(10000))) << stream.error();
    ASSERT_EQ(stream.http().status(), 200);
    for (int k = 0; k < 3; ++k) ASSERT_TRUE(stream.Next(Millis(10000)).has_value());
    stream.Close();
  }
  auto line = s->WaitForLog(IsDisconnect, Millis(5000));
  ASSERT_TRUE(line.has_value()) << "no request line with outcome cancelled/disconnect";
  EXPECT_EQ(Str(*line, "path"), "/infer");
  const int tokens = Int(*line, "completion_tokens");
  EXPECT_GE(tokens, 1) << *line;
  EXPECT_LT(tokens, 100) << "generation went on after the disconnect: " << *line;
  // The worker is free for the next request.
  ExpectCompleted(Infer(s->port(), InferBody("next", 4)), "small");
}

TEST_F(DisconnectTest, NdjsonDisconnectAlsoStopsGeneration) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  {
    InferStream stream(s->port(), LongBody(), StreamFormat::kNdjson);
    ASSERT_TRUE(stream.Next(Millis(10000)).has_value()) << stream.error();
    stream.Close();
  }
  auto line = s->WaitForLog(IsDisconnect, Millis(5000));
  ASSERT_TRUE(line.has_value());
  EXPECT_LT(Int(*line, "completion_tokens"), 100) << *line;
}

TEST_F(DisconnectTest, DisconnectWhileQueuedDropsTheRequest) {
  Server* s = StartStandard("small", "parallel: 1\n");  // the second request waits
  ASSERT_NE(s, nullptr);
  InferStream running(s->port(), LongBody());
  ASSERT_TRUE(running.AwaitHeaders(Millis(10000))) << running.error();
  ASSERT_TRUE(running.Next(Millis(10000)).has_value());
  {
    InferStream queued(s->port(), InferBody("queued then gone", 50));
    ASSERT_TRUE(s->WaitForMetric(
        "modeld_queue_depth", [](double v) { return v == 1; }, Millis(10000)));
    EXPECT_FALSE(queued.AwaitHeaders(Millis(1))) << "a queued request got headers";
    queued.Close();
  }
  auto line = s->WaitForLog(IsDisconnect, Millis(3000));
  ASSERT_TRUE(line.has_value()) << "the queued request was not dropped while another ran";
  EXPECT_EQ(Int(*line, "completion_tokens"), 0) << *line;
  // The running stream is untouched.
  auto next = running.Next(Millis(5000));
  ASSERT_TRUE(next.has_value()) << running.error();
  EXPECT_EQ(next->type, "token") << next->raw;
  running.Close();
  ExpectCompleted(Infer(s->port(), InferBody("after", 4)), "small");
}

// Nobody waits for the switch any more, so it must not complete a load of
// small (it may be aborted if it had already started).
TEST_F(DisconnectTest, SwitchNobodyWaitsForStartsNoLoad) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  {
    InferStream gone(s->port(), InferBody("switch then leave", 4, {{"model", "small"}}));
    ASSERT_TRUE(gone.http().connected()) << gone.error();
    gone.Close();
  }
  auto line = s->WaitForLog(IsDisconnect, Millis(3000));
  ASSERT_TRUE(line.has_value()) << "no request line for the dropped request";
  EXPECT_EQ(Int(*line, "completion_tokens"), 0) << *line;
  EXPECT_TRUE(s->WaitReady("tiny", Millis(10000))) << Get(s->port(), "/readyz").body;
  // The worker finishes any switch (or abort and restore) before it serves
  // a request, so once this one is logged every switch line is in.
  ExpectCompleted(Infer(s->port(), InferBody("after", 2, {{"model", "tiny"}})), "tiny");
  ASSERT_TRUE(s->WaitForLog(
                   [](const json& l) {
                     return Str(l, "msg") == "request" && Str(l, "outcome") == "ok" &&
                            Str(l, "model") == "tiny";
                   },
                   Millis(5000))
                  .has_value());
  for (const auto& l : s->LogsWithMsg("switch")) {
    EXPECT_FALSE(Str(l, "to") == "small" && Str(l, "outcome") == "ok")
        << "loaded small for a client that had left: " << l;
  }
  auto models = Get(s->port(), "/models").Json();
  EXPECT_EQ(models["current"], "tiny") << models;
}

// Two clients wait for the same load; one leaves. The load still serves the
// other, and the one that left is dropped.
TEST_F(DisconnectTest, DisconnectWhileWaitingForASharedLoad) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  InferStream stays(s->port(), InferBody("I stay", 4, {{"model", "small"}}));
  {
    InferStream leaves(s->port(), InferBody("I leave", 4, {{"model", "small"}}));
    leaves.Close();
  }
  ExpectCompleted(Finish(stays, Millis(20000)), "small");
  auto line = s->WaitForLog(IsDisconnect, Millis(3000));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Int(*line, "completion_tokens"), 0) << *line;
  int loads = 0;
  for (const auto& l : s->LogsWithMsg("switch")) loads += Str(l, "to") == "small" ? 1 : 0;
  EXPECT_EQ(loads, 1);
}

TEST_F(DisconnectTest, ManyDisconnectsLeaveTheServiceHealthy) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  auto count = [s] {
    size_t n = 0;
    for (const auto& l : s->Logs()) n += IsDisconnect(l) ? 1 : 0;
    return n;
  };
  for (size_t i = 0; i < 10; ++i) {
    InferStream stream(s->port(), LongBody());
    ASSERT_TRUE(stream.Next(Millis(10000)).has_value()) << stream.error();
    stream.Close();
    // Each one is logged as a disconnect before the next starts.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (count() < i + 1 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(Millis(10));
    }
    std::string lines;
    for (const auto& l : s->LogsWithMsg("request")) {
      if (Str(l, "path") == "/infer") lines += l.dump() + "\n";
    }
    ASSERT_EQ(count(), i + 1) << "disconnect " << i << " not logged; /infer lines:\n" << lines;
  }
  ExpectCompleted(Infer(s->port(), InferBody("still fine", 8)), "tiny");
  EXPECT_TRUE(s->WaitReady("tiny", Millis(5000)));
}

}  // namespace
}  // namespace modeld::blackbox
