// The serving engine seen from outside: several requests decoded together in
// the one context, each cancelled or switched away on its own terms,
// admission when slots run short, preemption when KV cells do, and the
// gauges a load balancer reads.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class EngineTest : public BlackboxTest {
 protected:
  // Opens `n` long streams and waits until each has its first token. Use
  // them on `small`: tiny finishes kLongTokens in a second or two.
  std::vector<std::unique_ptr<InferStream>> OpenLong(Server* s, int n,
                                                     const std::string& model = "") {
    // One after the other, so none of them waits in the queue (max_queue).
    std::vector<std::unique_ptr<InferStream>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<InferStream>(s->port(), LongBody(model)));
      InferStream& st = *out.back();
      EXPECT_TRUE(st.AwaitHeaders(Millis(20000))) << st.error();
      auto first = st.Next(Millis(20000));
      EXPECT_TRUE(first.has_value() && first->type == "token") << st.error();
    }
    return out;
  }
};

TEST_F(EngineTest, ConcurrentStreamsAllCompleteWithTheirTokenCounts) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const int counts[] = {12, 30, 7, 21};
  std::vector<InferResult> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Infer(s->port(), InferBody("client " + std::to_string(i), counts[i],
                                              {{"temperature", 0.8}, {"seed", i}}));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    ExpectCompleted(results[i], "tiny");
    ASSERT_TRUE(results[i].done.has_value());
    EXPECT_EQ((*results[i].done)["usage"]["completion_tokens"].get<int>(), counts[i])
        << results[i].Describe();
  }
}

TEST_F(EngineTest, StreamsRunTogetherAndTheGaugesSayHowMany) {
  Server* s = StartStandard("small");  // parallel 4 by default
  ASSERT_NE(s, nullptr);
  auto streams = OpenLong(s, 4);
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_running", [](double v) { return v == 4; }, Millis(10000)));
  EXPECT_EQ(s->Metric("modeld_num_requests_waiting"), 0.0);
  auto kv = s->Metric("modeld_kv_cache_usage_perc");
  ASSERT_TRUE(kv.has_value()) << "modeld_kv_cache_usage_perc missing";
  EXPECT_GT(*kv, 0.0);
  EXPECT_LE(*kv, 1.0);
  // A fifth waits for a slot.
  InferStream fifth(s->port(), InferBody("fifth", 4));
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_waiting", [](double v) { return v == 1; }, Millis(10000)));
  EXPECT_FALSE(fifth.AwaitHeaders(Millis(1)));
  streams[0]->Close();  // frees a slot
  ExpectCompleted(Finish(fifth, Millis(20000)), "small");
  for (auto& st : streams) st->Close();
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_running", [](double v) { return v == 0; }, Millis(10000)));
  // Finished requests keep their cells as a prompt cache, so usage stays
  // above 0 but never above what the four streams held.
  auto after = s->Metric("modeld_kv_cache_usage_perc");
  ASSERT_TRUE(after.has_value());
  EXPECT_LE(*after, 1.0);
}

TEST_F(EngineTest, DisconnectingOneStreamLeavesTheOthersUntouched) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  auto streams = OpenLong(s, 3);
  streams[1]->Close();
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_running", [](double v) { return v == 2; }, Millis(10000)));
  for (int i : {0, 2}) {
    for (int k = 0; k < 5; ++k) {
      auto e = streams[i]->Next(Millis(10000));
      ASSERT_TRUE(e.has_value()) << streams[i]->error();
      EXPECT_EQ(e->type, "token") << e->raw;
    }
  }
  auto is_disconnect = [](const json& l) {
    return Str(l, "msg") == "request" && Str(l, "cancel_reason") == "disconnect";
  };
  ASSERT_TRUE(s->WaitForLog(is_disconnect, Millis(5000)).has_value());
  auto lines = s->LogsWithMsg("request");
  int disconnects = 0;
  for (const auto& l : lines) disconnects += Str(l, "cancel_reason") == "disconnect" ? 1 : 0;
  EXPECT_EQ(disconnects, 1);
}

TEST_F(EngineTest, ASwitchMidBatchCancelsEveryStream) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  auto streams = OpenLong(s, 3);
  ExpectCompleted(Infer(s->port(), InferBody("switch", 4, {{"model", "tiny-b"}})), "tiny-b");
  for (auto& st : streams) {
    InferResult r = Finish(*st, Millis(10000));
    EXPECT_EQ(r.ErrorCode(), "cancelled") << r.Describe();
    ASSERT_TRUE(r.error.has_value());
    EXPECT_NE(Str(*r.error, "message").find("tiny-b"), std::string::npos) << r.Describe();
  }
}

TEST_F(EngineTest, QueueFullWhileParallelSequencesRun) {
  Server* s = StartStandard("small", "parallel: 2\nmax_queue: 1\n");
  ASSERT_NE(s, nullptr);
  auto streams = OpenLong(s, 2);
  InferStream waiting(s->port(), InferBody("waits", 4));
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_num_requests_waiting", [](double v) { return v == 1; }, Millis(10000)));
  EXPECT_EQ(s->Metric("modeld_num_requests_running"), 2.0);
  auto r = PostJson(s->port(), "/infer", InferBody("rejected", 4));
  ExpectErrorResponse(r, 503, "queue_full");
  for (auto& st : streams) st->Close();
  ExpectCompleted(Finish(waiting, Millis(20000)), "small");
}

// small-256 has 256 KV cells and each request may fill prompt + 200 of
// them: two at once do not fit. Both are admitted; when generation fills the
// cache the younger gives its cells back and is recomputed later. Neither
// fails because of the other, and each gets all its tokens.
TEST_F(EngineTest, AFullCachePreemptsTheYoungerAndNothingFails) {
  std::vector<ModelEntry> models = StandardModels();
  models.push_back({"small-256", ModelFile("small.gguf"), "q8_0", "    ctx_size: 256\n"});
  Server* s = StartServer(ConfigYaml("small-256", models), {}, "small-256");
  ASSERT_NE(s, nullptr);
  json body = InferBody("first", 200, {{"temperature", 1.0}, {"seed", 1}});
  InferStream first(s->port(), body);
  ASSERT_TRUE(first.Next(Millis(20000)).has_value()) << first.error();
  body["prompt"] = "second";
  InferStream second(s->port(), body);
  InferResult a = Finish(first, Millis(60000));
  InferResult b = Finish(second, Millis(60000));
  ExpectCompleted(a, "small-256");
  ExpectCompleted(b, "small-256");
  EXPECT_EQ((*a.done)["usage"]["completion_tokens"].get<int>(), 200) << a.Describe();
  EXPECT_EQ((*b.done)["usage"]["completion_tokens"].get<int>(), 200) << b.Describe();
  auto preemptions = s->Metric("modeld_preemptions_total");
  ASSERT_TRUE(preemptions.has_value()) << "modeld_preemptions_total missing";
  EXPECT_GE(*preemptions, 1.0);
}

// docs/decisions.md: a greedy request alone is reproducible; beside others
// its output may differ (batch shapes change the arithmetic), which is not
// promised either way.
TEST_F(EngineTest, AGreedyRequestAloneIsReproducible) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  auto a = Infer(s->port(), InferBody("reproducible", 24));
  auto b = Infer(s->port(), InferBody("reproducible", 24));
  ExpectCompleted(a, "small");
  ExpectCompleted(b, "small");
  EXPECT_EQ(a.text, b.text);
  EXPECT_FALSE(a.text.empty());
}

}  // namespace
}  // namespace modeld::blackbox
