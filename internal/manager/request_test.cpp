#include "internal/manager/request.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace modeld::manager {
namespace {

using std::chrono::milliseconds;

Request MakeRequest() {
  llm::GenerateParams p;
  p.prompt = "hi";
  return Request("m", p);
}

Outcome OkOutcome() {
  Outcome o;
  o.model = "m";
  return o;
}

// Counts notify calls.
struct Counter {
  int calls = 0;
  std::function<void()> Fn() {
    return [this] { ++calls; };
  }
};

TEST(RequestTest, ConstantFields) {
  llm::GenerateParams p;
  p.prompt = "hello";
  p.max_tokens = 7;
  Request r("tiny", p);
  EXPECT_EQ(r.requested_model(), "tiny");
  EXPECT_EQ(r.params().prompt, "hello");
  EXPECT_EQ(r.params().max_tokens, 7);
  EXPECT_FALSE(r.cancelled());
  EXPECT_FALSE(r.finished());
  EXPECT_TRUE(r.Wants());
}

TEST(RequestTest, NotifyRunsOnlyWhenConsumerIsParked) {
  Request r = MakeRequest();
  Counter n;
  r.SetNotify(n.Fn());

  // Not parked yet: events do not notify.
  r.Started();
  EXPECT_EQ(n.calls, 0);

  std::string text;
  Request::Update u = r.Take(text);
  EXPECT_TRUE(u.started);
  EXPECT_FALSE(u.finished);
  EXPECT_TRUE(text.empty());

  // Nothing new: this Take parks.
  u = r.Take(text);
  EXPECT_FALSE(u.started);
  EXPECT_FALSE(u.finished);
  EXPECT_TRUE(text.empty());

  r.Deliver("a");
  EXPECT_EQ(n.calls, 1);
  // Unparked by that notify: further text does not notify again.
  r.Deliver("b");
  EXPECT_EQ(n.calls, 1);

  u = r.Take(text);
  EXPECT_EQ(text, "ab");
  EXPECT_FALSE(u.started);  // reported once only
  text.clear();

  // Park again; Finish notifies.
  u = r.Take(text);
  EXPECT_TRUE(text.empty());
  r.Finish(OkOutcome());
  EXPECT_EQ(n.calls, 2);
  u = r.Take(text);
  EXPECT_TRUE(u.finished);
}

TEST(RequestTest, StartedNotifiesParkedConsumer) {
  Request r = MakeRequest();
  Counter n;
  r.SetNotify(n.Fn());
  std::string text;
  r.Take(text);  // parks
  r.Started();
  EXPECT_EQ(n.calls, 1);
  EXPECT_TRUE(r.Take(text).started);
}

TEST(RequestTest, TextCoalescesWhileConsumerIsBusy) {
  Request r = MakeRequest();
  r.Started();
  EXPECT_TRUE(r.Wants());
  r.Deliver("one ");
  // The consumer has not taken it: the producer should keep its text.
  EXPECT_FALSE(r.Wants());
  r.Deliver("two ");
  r.Deliver("three");
  std::string text;
  r.Take(text);
  EXPECT_EQ(text, "one two three");
  EXPECT_TRUE(r.Wants());

  // The buffer handed in is recycled: the next batch lands in it.
  text.clear();
  r.Deliver("four");
  r.Take(text);
  EXPECT_EQ(text, "four");
}

TEST(RequestTest, FinishedComesWithOrAfterTheLastText) {
  Request r = MakeRequest();
  r.Started();
  r.Deliver("tail");
  Outcome o = OkOutcome();
  o.stats.completion_tokens = 3;
  r.Finish(o);
  EXPECT_TRUE(r.finished());

  std::string text;
  Request::Update u = r.Take(text);
  // The finishing Take hands over everything still pending.
  EXPECT_TRUE(u.finished);
  EXPECT_TRUE(u.started);
  EXPECT_EQ(text, "tail");
  EXPECT_EQ(r.outcome().stats.completion_tokens, 3);

  text.clear();
  u = r.Take(text);
  EXPECT_TRUE(u.finished);
  EXPECT_TRUE(text.empty());
}

TEST(RequestTest, FirstFinishWins) {
  Request r = MakeRequest();
  Outcome first = OkOutcome();
  first.status = Status::Cancelled("first");
  r.Finish(first);
  Outcome second = OkOutcome();
  second.status = Status::Internal("second");
  r.Finish(second);
  std::string text;
  ASSERT_TRUE(r.Take(text).finished);
  EXPECT_EQ(r.outcome().status.code(), Code::kCancelled);
  EXPECT_EQ(r.outcome().status.message(), "first");
}

TEST(RequestTest, FinishedTakeDropsTheNotifyCallback) {
  Request r = MakeRequest();
  auto held = std::make_shared<int>(0);
  r.SetNotify([held] { ++*held; });
  EXPECT_EQ(held.use_count(), 2);
  r.Finish(OkOutcome());
  std::string text;
  ASSERT_TRUE(r.Take(text).finished);
  EXPECT_EQ(held.use_count(), 1);
}

TEST(RequestTest, CancelKeepsTheFirstReason) {
  Request r = MakeRequest();
  EXPECT_EQ(r.cancel_reason(), CancelReason::kNone);
  r.Cancel(CancelReason::kSwitch, Status::Cancelled("switched to 'b'"));
  r.Cancel(CancelReason::kDisconnect, Status::Cancelled("gone"));
  r.Cancel(CancelReason::kShutdown, Status::ShuttingDown("bye"));
  EXPECT_TRUE(r.cancelled());
  EXPECT_TRUE(r.cancel_flag().load());
  EXPECT_EQ(r.cancel_reason(), CancelReason::kSwitch);
  EXPECT_EQ(r.cancel_status().code(), Code::kCancelled);
  EXPECT_EQ(r.cancel_status().message(), "switched to 'b'");
  // Cancelling does not finish: the manager reports the outcome.
  EXPECT_FALSE(r.finished());
}

TEST(RequestTest, CancelReasonNames) {
  EXPECT_EQ(CancelReasonName(CancelReason::kNone), "none");
  EXPECT_EQ(CancelReasonName(CancelReason::kSwitch), "switch");
  EXPECT_EQ(CancelReasonName(CancelReason::kDisconnect), "disconnect");
  EXPECT_EQ(CancelReasonName(CancelReason::kShutdown), "shutdown");
}

// A producer thread streams like the adapter (deliver only when wanted); the
// consumer parks and waits for notify. Nothing may be lost or duplicated and
// no wake-up may be missed (each wait is bounded, so a miss fails the test).
TEST(RequestTest, ConcurrentProducerAndConsumerLoseNothing) {
  constexpr int kTokens = 20000;
  auto r = std::make_shared<Request>("m", llm::GenerateParams{});
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool signalled = false;
  };
  auto wake = std::make_shared<Wake>();
  r->SetNotify([wake] {
    std::lock_guard lock(wake->mu);
    wake->signalled = true;
    wake->cv.notify_all();
  });

  std::thread producer([r] {
    r->Started();
    std::string pending;
    for (int i = 0; i < kTokens; ++i) {
      pending += std::to_string(i % 10);
      if (r->Wants()) {
        r->Deliver(pending);
        pending.clear();
      }
    }
    if (!pending.empty()) r->Deliver(pending);
    Outcome o;
    o.stats.completion_tokens = kTokens;
    r->Finish(o);
  });

  std::string all;
  std::string chunk;
  int batches = 0;
  bool finished = false;
  bool started = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!finished) {
    chunk.clear();
    Request::Update u = r->Take(chunk);
    started = started || u.started;
    if (!chunk.empty()) ++batches;
    all += chunk;
    finished = u.finished;
    if (finished || u.started || !chunk.empty()) continue;
    std::unique_lock lock(wake->mu);
    if (!wake->cv.wait_until(lock, deadline, [&] { return wake->signalled; })) break;
    wake->signalled = false;
  }
  producer.join();

  ASSERT_TRUE(finished) << "consumer missed a wake-up";
  EXPECT_TRUE(started);
  ASSERT_EQ(all.size(), static_cast<size_t>(kTokens));
  for (int i = 0; i < kTokens; ++i) {
    ASSERT_EQ(all[i], static_cast<char>('0' + i % 10)) << "at " << i;
  }
  EXPECT_GE(batches, 1);
  EXPECT_LE(batches, kTokens);
  EXPECT_EQ(r->outcome().stats.completion_tokens, kTokens);
}

}  // namespace
}  // namespace modeld::manager
