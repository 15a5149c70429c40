#include "internal/httpapi/event_hub.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modeld::httpapi {
namespace {

using manager::ModelState;

// Event types in the order they appear in `sse` ("event: <type>" lines).
std::vector<std::string> Types(const std::string& sse) {
  std::vector<std::string> types;
  size_t pos = 0;
  while ((pos = sse.find("event: ", pos)) != std::string::npos) {
    const size_t end = sse.find('\n', pos);
    types.push_back(sse.substr(pos + 7, end - pos - 7));
    pos = end;
  }
  return types;
}

// A subscriber that counts its notifications.
struct Client {
  int notified = 0;
  std::shared_ptr<EventSubscription> sub;
  explicit Client(EventHub& hub) {
    auto r = hub.Subscribe([this] { ++notified; });
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok()) sub = std::move(r).value();
  }
  std::string Take(bool* open = nullptr) {
    std::string out;
    const bool o = sub->Take(out);
    if (open != nullptr) *open = o;
    return out;
  }
};

TEST(EventHubTest, FansEveryEventOutToEverySubscriberInOrder) {
  EventHub hub({});
  Client a(hub);
  Client b(hub);
  EXPECT_EQ(hub.subscribers(), 2u);
  manager::SwitchReport report;
  report.from = "tiny";
  report.to = "small";
  report.outcome = "ok";
  report.load_ms = 30;
  report.warmup_ms = 5;
  report.free_ms = 1;
  hub.OnStateChange(ModelState::kLoading, "small");
  hub.OnLoadProgress("small", 0.5f);
  hub.OnStateChange(ModelState::kReady, "small");
  hub.OnSwitch(report);
  hub.OnQueueDepth(2);
  hub.OnRunning(1);
  manager::Outcome outcome;
  outcome.model = "small";
  outcome.stats.completion_tokens = 8;
  outcome.timings.tokens_per_second = 123.4;
  hub.OnFinish(outcome);
  const std::vector<std::string> want = {"state", "progress", "state",  "switch",
                                         "queue", "queue",    "request"};
  const std::string sse = a.Take();
  EXPECT_EQ(Types(sse), want);
  EXPECT_EQ(b.Take(), sse);
  const size_t sw = sse.find("event: switch\ndata: ");
  ASSERT_NE(sw, std::string::npos);
  const nlohmann::json data =
      nlohmann::json::parse(sse.substr(sw + 20, sse.find('\n', sw + 20) - sw - 20));
  EXPECT_EQ(data["from"], "tiny");
  EXPECT_EQ(data["to"], "small");
  EXPECT_EQ(data["outcome"], "ok");
  EXPECT_NE(sse.find("\"total_ms\":36.0"), std::string::npos) << sse;
  EXPECT_NE(sse.find("event: queue\ndata: {\"queued\":2,\"running\":1}\n\n"), std::string::npos);
  EXPECT_NE(sse.find("\"tokens_per_second\":123.4"), std::string::npos);

  // The history a snapshot carries.
  const nlohmann::json h = hub.History();
  ASSERT_EQ(h["switches"].size(), 1u);
  EXPECT_EQ(h["switches"][0]["to"], "small");
  EXPECT_EQ(h["requests"]["finished"]["ok"], 1);
  EXPECT_EQ(h["requests"]["tokens_per_second"]["small"], 123.4);
}

TEST(EventHubTest, NotifiesOnlyAParkedSubscriberOncePerWakeUp) {
  EventHub hub({});
  Client c(hub);
  hub.OnQueueDepth(1);
  EXPECT_EQ(c.notified, 0);  // not parked yet: it takes without being told
  EXPECT_EQ(Types(c.Take()), std::vector<std::string>{"queue"});
  EXPECT_EQ(c.Take(), "");  // nothing: parks
  hub.OnQueueDepth(2);
  hub.OnQueueDepth(3);
  EXPECT_EQ(c.notified, 1);
  EXPECT_EQ(Types(c.Take()), (std::vector<std::string>{"queue", "queue"}));
}

TEST(EventHubTest, SendsOnlyWholePercentsOfProgressAndOnlyChangesOfTheQueue) {
  EventHub hub({});
  Client c(hub);
  hub.OnStateChange(ModelState::kLoading, "small");
  for (int i = 0; i <= 1000; ++i) hub.OnLoadProgress("small", static_cast<float>(i) / 1000.0f);
  hub.OnQueueDepth(0);  // unchanged from the start
  hub.OnRunning(0);
  const std::vector<std::string> types = Types(c.Take());
  ASSERT_EQ(types.size(), 102u);  // the state, then 0% .. 100%
  EXPECT_EQ(types.front(), "state");
  EXPECT_EQ(types.back(), "progress");
}

TEST(EventHubTest, EndsASubscriberThatFallsBehindWithoutTouchingOthers) {
  EventHub hub({.max_subscribers = 4, .max_queued_bytes = 1024, .switch_history = 10});
  Client slow(hub);
  Client fast(hub);
  ASSERT_EQ(fast.Take(), "");  // parked
  for (int i = 1; i <= 100; ++i) {
    hub.OnQueueDepth(static_cast<size_t>(i));
    EXPECT_NE(fast.Take(), "");
  }
  bool open = true;
  EXPECT_EQ(slow.Take(&open), "");  // its queue was dropped
  EXPECT_FALSE(open);
  EXPECT_EQ(hub.subscribers(), 1u);
  bool fast_open = false;
  fast.Take(&fast_open);
  EXPECT_TRUE(fast_open);
}

TEST(EventHubTest, LimitsSubscribersAndFreesASlotOnCancel) {
  EventHub hub({.max_subscribers = 2, .max_queued_bytes = 1024, .switch_history = 10});
  Client a(hub);
  Client b(hub);
  auto third = hub.Subscribe([] {});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), Code::kQueueFull);
  a.sub->Cancel();
  a.sub->Cancel();  // idempotent
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_TRUE(hub.Subscribe([] {}).ok());
}

TEST(EventHubTest, ShutdownEndsEverySubscriptionAndRefusesNewOnes) {
  EventHub hub({});
  Client parked(hub);
  ASSERT_EQ(parked.Take(), "");
  hub.OnQueueDepth(1);
  EXPECT_NE(parked.Take(), "");
  EXPECT_EQ(parked.Take(), "");  // parked again
  Client busy(hub);              // has not taken yet
  hub.Shutdown();
  EXPECT_EQ(parked.notified, 2);  // the event, then the end
  bool open = true;
  parked.Take(&open);
  EXPECT_FALSE(open);
  busy.Take(&open);
  EXPECT_FALSE(open);
  EXPECT_EQ(hub.subscribers(), 0u);
  auto late = hub.Subscribe([] {});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kShuttingDown);
}

TEST(EventHubTest, KeepsTheLastSwitchesAndRedactsPathsInErrors) {
  EventHub hub({.max_subscribers = 2, .max_queued_bytes = 1024, .switch_history = 3});
  Client c(hub);
  for (int i = 0; i < 5; ++i) {
    manager::SwitchReport r;
    r.to = "m";
    r.to += std::to_string(i);  // GCC 12 -Wrestrict false positive on "m" + string
    r.outcome = "failed";
    r.error = "cannot read /srv/models/m.gguf";
    hub.OnSwitch(r);
  }
  const nlohmann::json h = hub.History();
  ASSERT_EQ(h["switches"].size(), 3u);
  EXPECT_EQ(h["switches"][0]["to"], "m2");
  EXPECT_EQ(h["switches"][2]["to"], "m4");
  EXPECT_EQ(h["switches"][2]["error"], "cannot read m.gguf");
  EXPECT_EQ(h["switches"][2]["from"], nullptr);
  EXPECT_EQ(c.Take().find("/srv"), std::string::npos);
}

}  // namespace
}  // namespace modeld::httpapi
