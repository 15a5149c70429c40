// The manager's start-up, routing and switching, against the fake backend.
#include "internal/manager/manager.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using testing::AbortMode;

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers
using ManagerTest = ManagerFixture;

// ---- start-up and routing

TEST_F(ManagerTest, DefaultModelIsReadyAfterOneWarmup) {
  backend_.BlockLoad("a");
  backend_.BlockWarmup("a");
  Make();
  manager_->Start("a");

  ASSERT_TRUE(backend_.WaitLoads("a", 1, kWait));
  Snapshot s = manager_->GetSnapshot();
  EXPECT_EQ(s.state, ModelState::kLoading);
  EXPECT_EQ(s.target, "a");
  EXPECT_EQ(s.loaded, "");
  EXPECT_TRUE(WaitSnapshot([](const Snapshot& s) { return s.progress == 0.5f; }));

  backend_.ReleaseLoad("a");
  ASSERT_TRUE(backend_.WaitWarmups("a", 1, kWait));
  s = manager_->GetSnapshot();
  EXPECT_EQ(s.state, ModelState::kWarming);
  EXPECT_EQ(s.loaded, "");  // not ready before the warm-up token

  backend_.ReleaseWarmup("a");
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.loads("a"), 1);
  EXPECT_EQ(backend_.warmups("a"), 1);
  EXPECT_EQ(backend_.live_models(), 1);
  EXPECT_EQ(observer_.states(), (std::vector<std::string>{"loading:a", "warming:a", "ready:a"}));
  ASSERT_EQ(observer_.switches().size(), 1u);
  EXPECT_EQ(observer_.switches()[0].from, "");
  EXPECT_EQ(observer_.switches()[0].to, "a");
  EXPECT_EQ(observer_.switches()[0].outcome, "ok");
}

TEST_F(ManagerTest, OmittedModelUsesTheCurrentOne) {
  StartReady("a");
  auto r = Submit("");
  ExpectOk(WaitOutcome(r), "a");
  EXPECT_EQ(backend_.loads("a"), 1);
}

TEST_F(ManagerTest, NoModelLoadedAndNoneNamed) {
  Make();
  manager_->Start("");
  auto r = NewRequest("");
  Status st = manager_->Submit(r);
  EXPECT_EQ(st.code(), Code::kNoModelLoaded);
  EXPECT_FALSE(r->finished());
  EXPECT_EQ(manager_->GetSnapshot().state, ModelState::kEmpty);
  EXPECT_EQ(backend_.loads("a"), 0);
}

TEST_F(ManagerTest, UnknownModelIsNotFound) {
  StartReady("a");
  auto r = NewRequest("nope");
  Status st = manager_->Submit(r);
  EXPECT_EQ(st.code(), Code::kModelNotFound);
  EXPECT_NE(st.message().find("nope"), std::string::npos);
  // Nothing changed.
  Snapshot s = manager_->GetSnapshot();
  EXPECT_EQ(s.state, ModelState::kReady);
  EXPECT_EQ(s.target, "a");
}

TEST_F(ManagerTest, SameModelDoesNotReload) {
  StartReady("a");
  for (int i = 0; i < 3; ++i) ExpectOk(WaitOutcome(Submit("a")), "a");
  EXPECT_EQ(backend_.loads("a"), 1);
  EXPECT_EQ(backend_.warmups("a"), 1);
}

TEST_F(ManagerTest, RequestsForTheCurrentModelRunInArrivalOrder) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a");
  auto r2 = Submit("a");
  auto r3 = Submit("");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  EXPECT_EQ(manager_->GetSnapshot().queued, 2u);

  backend_.Allow(4);
  ExpectOk(WaitOutcome(r1), "a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 2, kWait));
  EXPECT_FALSE(r3->finished());
  backend_.Allow(4);
  ExpectOk(WaitOutcome(r2), "a");
  EXPECT_FALSE(r3->finished());
  backend_.Allow(4);
  ExpectOk(WaitOutcome(r3), "a");
}

// ---- switching

TEST_F(ManagerTest, ImplicitSwitchFreesTheOldModelFirst) {
  StartReady("a");
  ExpectOk(WaitOutcome(Submit("b")), "b");
  ExpectOk(WaitOutcome(Submit("a")), "a");
  ExpectOk(WaitOutcome(Submit("c")), "c");
  EXPECT_EQ(backend_.loads("a"), 2);
  EXPECT_EQ(backend_.loads("b"), 1);
  EXPECT_EQ(backend_.loads("c"), 1);
  EXPECT_EQ(backend_.max_live_models(), 1);
  EXPECT_EQ(backend_.max_live_at_load(), 0);
  ASSERT_TRUE(WaitReady("c"));
  auto sw = observer_.switches();
  ASSERT_EQ(sw.size(), 4u);
  EXPECT_EQ(sw[1].from, "a");
  EXPECT_EQ(sw[1].to, "b");
  EXPECT_EQ(sw[1].outcome, "ok");
}

TEST_F(ManagerTest, SwitchCancelsRunningAndQueuedRequests) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a");
  auto r2 = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  backend_.Allow(2);
  ASSERT_TRUE(backend_.WaitTokens(2, kWait));

  auto r3 = Submit("b");
  Seen s1 = WaitOutcome(r1);
  ExpectCancelled(s1, CancelReason::kSwitch);
  EXPECT_NE(s1.outcome.status.message().find("'b'"), std::string::npos)
      << s1.outcome.status.message();
  EXPECT_EQ(s1.outcome.model, "a");
  EXPECT_EQ(s1.outcome.stats.completion_tokens, 2);
  // The first token went out at once; the second is held back until the
  // consumer takes (which may race with the cancel). Held text dies with a
  // cancel, as in the llama.cpp adapter.
  EXPECT_TRUE(s1.text == FakeText("a", 1) || s1.text == FakeText("a", 2)) << s1.text;

  Seen s2 = WaitOutcome(r2);
  ExpectCancelled(s2, CancelReason::kSwitch);
  EXPECT_NE(s2.outcome.status.message().find("'b'"), std::string::npos);
  EXPECT_TRUE(s2.text.empty());

  backend_.OpenGate();
  ExpectOk(WaitOutcome(r3), "b");
  EXPECT_EQ(backend_.generates("a"), 1);  // r2 never ran
  int switch_cancels = 0;
  for (CancelReason c : observer_.cancels()) switch_cancels += c == CancelReason::kSwitch;
  EXPECT_EQ(switch_cancels, 2);
}

TEST_F(ManagerTest, ConcurrentRequestsForOneTargetShareOneLoad) {
  StartReady("a");
  backend_.BlockLoad("b");
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  auto r2 = Submit("b");
  auto r3 = Submit("");  // the model being switched to
  EXPECT_FALSE(r1->cancelled());
  EXPECT_EQ(manager_->GetSnapshot().queued, 3u);
  backend_.ReleaseLoad("b");
  ExpectOk(WaitOutcome(r1), "b");
  ExpectOk(WaitOutcome(r2), "b");
  ExpectOk(WaitOutcome(r3), "b");
  EXPECT_EQ(backend_.loads("b"), 1);
}

TEST_F(ManagerTest, SimultaneousSubmitsFromManyThreadsShareOneLoad) {
  StartReady("a");
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<Request>> reqs;
  for (int i = 0; i < kThreads; ++i) reqs.push_back(NewRequest("b"));
  std::vector<Status> results(kThreads);
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, kWait, [&] { return go; });
      }
      results[i] = manager_->Submit(reqs[i]);
    });
  }
  {
    std::lock_guard lock(mu);
    go = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].message();
    ExpectOk(WaitOutcome(reqs[i]), "b");
  }
  EXPECT_EQ(backend_.loads("b"), 1);
}

TEST_F(ManagerTest, ThirdModelSupersedesAPendingSwitch) {
  StartReady("a");
  backend_.BlockLoad("b");
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));

  auto r2 = Submit("c");
  Seen s1 = WaitOutcome(r1);
  ExpectCancelled(s1, CancelReason::kSwitch);
  EXPECT_NE(s1.outcome.status.message().find("'c'"), std::string::npos);
  ASSERT_TRUE(backend_.WaitAbortedLoads("b", 1, kWait));

  ExpectOk(WaitOutcome(r2), "c");
  ASSERT_TRUE(WaitReady("c"));
  EXPECT_EQ(backend_.loads("b"), 1);
  EXPECT_EQ(backend_.loads("c"), 1);
  auto sw = observer_.switches();
  ASSERT_EQ(sw.size(), 3u);
  EXPECT_EQ(sw[1].to, "b");
  EXPECT_EQ(sw[1].outcome, "aborted");
  EXPECT_EQ(sw[2].to, "c");
  EXPECT_EQ(sw[2].outcome, "ok");
}

// The loader notices the abort of b only after c already gave way to b
// again: the worker must load b once more, never run b's request on another
// model.
TEST_F(ManagerTest, BackToTheSecondModelWhileItsAbortIsPending) {
  StartReady("a");
  backend_.BlockLoad("b", AbortMode::kAfterRelease);
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  auto r2 = Submit("c");
  auto r3 = Submit("b");
  Seen s2 = WaitOutcome(r2);
  ExpectCancelled(s2, CancelReason::kSwitch);
  EXPECT_NE(s2.outcome.status.message().find("'b'"), std::string::npos);

  backend_.ReleaseLoad("b");
  ExpectOk(WaitOutcome(r3), "b");
  ASSERT_TRUE(WaitReady("b"));
  EXPECT_EQ(backend_.loads("c"), 0);
}

TEST_F(ManagerTest, RetargetDuringWarmupCancelsIt) {
  StartReady("a");
  backend_.BlockWarmup("b");
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitWarmups("b", 1, kWait));
  EXPECT_EQ(manager_->GetSnapshot().state, ModelState::kWarming);

  auto r2 = Submit("c");
  ExpectCancelled(WaitOutcome(r1), CancelReason::kSwitch);
  ExpectOk(WaitOutcome(r2), "c");
  ASSERT_TRUE(WaitReady("c"));
  for (const auto& st : observer_.states()) EXPECT_NE(st, "ready:b");
  auto sw = observer_.switches();
  ASSERT_GE(sw.size(), 2u);
  EXPECT_EQ(sw[1].to, "b");
  EXPECT_EQ(sw[1].outcome, "aborted");
}

}  // namespace
}  // namespace modeld::manager
