// The manager's queue, and cancels by clients before and during a switch.
#include "internal/manager/manager.h"

#include <gtest/gtest.h>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using testing::AbortMode;

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers
using ManagerTest = ManagerFixture;

// ---- queue and client cancels

TEST_F(ManagerTest, FullQueueIsRejected) {
  Options o;
  o.max_queue = 2;
  StartReady("a", o);
  backend_.CloseGate();
  auto r1 = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));  // r1 left the queue
  auto r2 = Submit("a");
  auto r3 = Submit("a");
  auto r4 = NewRequest("a");
  Status st = manager_->Submit(r4);
  EXPECT_EQ(st.code(), Code::kQueueFull);
  Snapshot snap = manager_->GetSnapshot();
  EXPECT_EQ(snap.queued, 2u);
  EXPECT_EQ(snap.running, 1u);

  backend_.OpenGate();
  for (const auto& r : {r1, r2, r3}) ExpectOk(WaitOutcome(r), "a");
  EXPECT_FALSE(r4->finished());
  EXPECT_EQ(backend_.generates("a"), 3);
}

TEST_F(ManagerTest, ClientCancelDropsAQueuedRequest) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  auto r2 = Submit("a");

  manager_->Cancel(r2, CancelReason::kDisconnect);
  EXPECT_TRUE(r2->finished());  // at once, not when it would have run
  ExpectCancelled(WaitOutcome(r2), CancelReason::kDisconnect);
  EXPECT_EQ(manager_->GetSnapshot().queued, 0u);

  backend_.OpenGate();
  ExpectOk(WaitOutcome(r1), "a");
  ASSERT_TRUE(backend_.WaitIdle(kWait));
  ExpectOk(WaitOutcome(Submit("a")), "a");  // the worker went past where r2 was
  EXPECT_EQ(backend_.generates("a"), 2);
}

TEST_F(ManagerTest, ClientCancelStopsARunningGeneration) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a", 100);
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  backend_.Allow(3);
  ASSERT_TRUE(backend_.WaitTokens(3, kWait));
  manager_->Cancel(r1, CancelReason::kDisconnect);
  Seen s = WaitOutcome(r1);
  ExpectCancelled(s, CancelReason::kDisconnect);
  EXPECT_EQ(s.outcome.stats.completion_tokens, 3);
  ASSERT_TRUE(WaitReady("a"));  // nothing else changes
}

// The generated-token count moves while a request runs, not only at its end.
TEST_F(ManagerTest, GeneratedTokensAreCountedWhileARequestRuns) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a", /*max_tokens=*/100);
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  backend_.Allow(3);
  ASSERT_TRUE(backend_.WaitTokens(3, kWait));
  // The count is taken after the step that made the third token.
  backend_.Allow(1);
  ASSERT_TRUE(backend_.WaitTokens(4, kWait));
  const auto generated = manager_->GetSnapshot().generated_tokens;
  ASSERT_EQ(generated.count("a"), 1u);
  EXPECT_GE(generated.at("a"), 3);
  EXPECT_FALSE(r1->finished());
  manager_->Cancel(r1, CancelReason::kDisconnect);
  Seen s = WaitOutcome(r1);
  EXPECT_EQ(manager_->GetSnapshot().generated_tokens.at("a"), s.outcome.stats.completion_tokens);
}

// The switch's only waiter leaves before the worker began the load: no load
// starts for nobody.
TEST_F(ManagerTest, CancelOfOnlyWaiterBeforeTheLoadDropsTheSwitch) {
  StartReady("a");
  backend_.CloseGate(/*honour_cancel=*/false);  // the worker stays in a token
  auto r1 = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));
  auto r2 = Submit("b");
  EXPECT_TRUE(r1->cancelled());
  manager_->Cancel(r2, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r2), CancelReason::kDisconnect);
  EXPECT_EQ(manager_->GetSnapshot().target, "a");

  backend_.OpenGate();
  ExpectCancelled(WaitOutcome(r1), CancelReason::kSwitch);
  ExpectOk(WaitOutcome(Submit("a")), "a");
  EXPECT_EQ(backend_.loads("b"), 0);
  EXPECT_EQ(backend_.loads("a"), 1);
}

TEST_F(ManagerTest, CancelOfOnlyWaiterDuringTheLoadRestoresThePreviousModel) {
  StartReady("a");
  backend_.BlockLoad("b");
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  manager_->Cancel(r1, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kDisconnect);
  ASSERT_TRUE(backend_.WaitAbortedLoads("b", 1, kWait));
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.loads("a"), 2);
  auto sw = observer_.switches();
  ASSERT_EQ(sw.size(), 3u);
  EXPECT_EQ(sw[1].outcome, "aborted");
}

TEST_F(ManagerTest, CancelOfOneOfTwoWaitersKeepsTheLoad) {
  StartReady("a");
  backend_.BlockLoad("b");
  auto r1 = Submit("b");
  auto r2 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  manager_->Cancel(r1, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kDisconnect);
  backend_.ReleaseLoad("b");
  ExpectOk(WaitOutcome(r2), "b");
  EXPECT_EQ(backend_.aborted_loads("b"), 0);
}

// A new request for the target arrives after its only waiter left but before
// the loader noticed the abort: the request must still get its model.
TEST_F(ManagerTest, NewWaiterAfterAnAbortedLoadStillGetsItsModel) {
  StartReady("a");
  backend_.BlockLoad("b", AbortMode::kAfterRelease);
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  manager_->Cancel(r1, CancelReason::kDisconnect);
  auto r2 = Submit("b");
  backend_.ReleaseLoad("b");
  ExpectOk(WaitOutcome(r2), "b");
  ASSERT_TRUE(WaitReady("b"));
  EXPECT_EQ(backend_.aborted_loads("b"), 1);
  EXPECT_EQ(backend_.loads("b"), 2);
}

// A second client joins a load whose only waiter left (it restarts for the
// newcomer) and then leaves too: the restarted load is dropped as well.
TEST_F(ManagerTest, AWaiterThatJoinsAnAbortedLoadAndLeavesDropsItToo) {
  StartReady("a");
  backend_.BlockLoad("b", AbortMode::kAfterRelease);
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  manager_->Cancel(r1, CancelReason::kDisconnect);
  auto r2 = Submit("b");
  backend_.BlockWarmup("b");  // the restarted load waits in its warm-up
  backend_.ReleaseLoad("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 2, kWait));
  manager_->Cancel(r2, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r2), CancelReason::kDisconnect);
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.loads("a"), 2);
}

// Switching back to the previous model and then leaving must not leave the
// service empty: reloading the previous model is the restore.
TEST_F(ManagerTest, CancelWhileReloadingThePreviousModelKeepsIt) {
  StartReady("a");
  backend_.BlockLoad("b", AbortMode::kAfterRelease);
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  backend_.BlockLoad("a");
  auto r2 = Submit("a");
  ExpectCancelled(WaitOutcome(r1), CancelReason::kSwitch);
  backend_.ReleaseLoad("b");
  ASSERT_TRUE(backend_.WaitLoads("a", 2, kWait));

  manager_->Cancel(r2, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r2), CancelReason::kDisconnect);
  backend_.ReleaseLoad("a");
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.aborted_loads("a"), 0);
}

// The default model is loaded because the config says so, not because a
// client asked: a client that named it and left does not stop it.
TEST_F(ManagerTest, DefaultModelLoadSurvivesADepartedWaiter) {
  backend_.BlockLoad("a");
  Make();
  manager_->Start("a");
  ASSERT_TRUE(backend_.WaitLoads("a", 1, kWait));
  auto r1 = Submit("a");
  manager_->Cancel(r1, CancelReason::kDisconnect);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kDisconnect);
  backend_.ReleaseLoad("a");
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.aborted_loads("a"), 0);
}

}  // namespace
}  // namespace modeld::manager
