#include "internal/manager/manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using std::chrono::milliseconds;
using testing::AbortMode;
using testing::FakeBackend;

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

// ---- failed loads

TEST_F(ManagerTest, FailedLoadReportsAndRestoresThePreviousModel) {
  StartReady("a");
  backend_.BlockLoad("b");
  backend_.FailLoad("b", Status::LoadFailed("truncated GGUF file"));
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  auto r2 = Submit("b");
  backend_.ReleaseLoad("b");

  for (const auto& r : {r1, r2}) {
    Seen s = WaitOutcome(r);
    ExpectCancelled(s, CancelReason::kNone, Code::kLoadFailed);
    EXPECT_NE(s.outcome.status.message().find("truncated GGUF file"), std::string::npos);
    EXPECT_NE(s.outcome.status.message().find("'b'"), std::string::npos);
  }
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.loads("a"), 2);
  EXPECT_TRUE(manager_->GetSnapshot().last_error.empty());
  EXPECT_TRUE(manager_->GetSnapshot().last_error_model.empty());

  auto states = observer_.states();
  std::vector<std::string> tail(states.end() - 4, states.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"failed:b", "loading:a", "warming:a", "ready:a"}));
  auto sw = observer_.switches();
  ASSERT_EQ(sw.size(), 3u);
  EXPECT_EQ(sw[1].outcome, "failed");
  EXPECT_EQ(sw[1].error, "truncated GGUF file");

  ExpectOk(WaitOutcome(Submit("")), "a");
}

TEST_F(ManagerTest, FailedWarmupRestoresThePreviousModel) {
  StartReady("a");
  backend_.FailWarmup("b", Status::Internal("decode failed"));
  Seen s = WaitOutcome(Submit("b"));
  ExpectCancelled(s, CancelReason::kNone, Code::kLoadFailed);
  EXPECT_NE(s.outcome.status.message().find("decode failed"), std::string::npos);
  ASSERT_TRUE(WaitReady("a"));
  EXPECT_EQ(backend_.live_models(), 1);
}

TEST_F(ManagerTest, FailedLoadWithoutPreviousModelThenAGoodOne) {
  Make();
  manager_->Start("");
  backend_.FailLoad("bad", Status::LoadFailed("no such file"));
  Seen s = WaitOutcome(Submit("bad"));
  ExpectCancelled(s, CancelReason::kNone, Code::kLoadFailed);
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) { return s.state == ModelState::kFailed; }));
  Snapshot snap = manager_->GetSnapshot();
  EXPECT_EQ(snap.loaded, "");
  EXPECT_NE(snap.last_error.find("no such file"), std::string::npos);
  EXPECT_EQ(snap.last_error_model, "bad");  // /readyz names it though the target is cleared
  EXPECT_EQ(manager_->Submit(NewRequest("")).code(), Code::kNoModelLoaded);

  ExpectOk(WaitOutcome(Submit("a")), "a");
  ASSERT_TRUE(WaitReady("a"));
}

// The previous model's file went bad too: the restore is tried once, then the
// manager rests in failed instead of retrying forever.
TEST_F(ManagerTest, FailedRestoreLeavesFailedState) {
  StartReady("a");
  backend_.FailLoad("a", Status::LoadFailed("a vanished"));
  backend_.FailLoad("b", Status::LoadFailed("b is corrupt"));
  ExpectCancelled(WaitOutcome(Submit("b")), CancelReason::kNone, Code::kLoadFailed);
  ASSERT_TRUE(WaitSnapshot(
      [](const Snapshot& s) { return s.state == ModelState::kFailed && s.target.empty(); }));
  EXPECT_EQ(backend_.loads("a"), 2);
  EXPECT_EQ(backend_.loads("b"), 1);
  EXPECT_NE(manager_->GetSnapshot().last_error.find("a vanished"), std::string::npos);
  EXPECT_EQ(manager_->GetSnapshot().last_error_model, "a");
  EXPECT_EQ(manager_->Submit(NewRequest("")).code(), Code::kNoModelLoaded);

  ExpectOk(WaitOutcome(Submit("c")), "c");
  ASSERT_TRUE(WaitReady("c"));
}

// ---- shutdown

TEST_F(ManagerTest, ShutdownDuringLoad) {
  backend_.BlockLoad("a");
  Make();
  manager_->Start("a");
  auto r1 = Submit("");
  ASSERT_TRUE(backend_.WaitLoads("a", 1, kWait));

  const auto t0 = std::chrono::steady_clock::now();
  manager_->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kPrompt);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kShutdown, Code::kShuttingDown);
  EXPECT_EQ(backend_.aborted_loads("a"), 1);
  EXPECT_EQ(backend_.live_models(), 0);
  EXPECT_EQ(manager_->GetSnapshot().state, ModelState::kEmpty);
  EXPECT_EQ(manager_->Submit(NewRequest("a")).code(), Code::kShuttingDown);
  manager_->Shutdown();  // idempotent
}

TEST_F(ManagerTest, ShutdownDuringWarmup) {
  backend_.BlockWarmup("a");
  Make();
  manager_->Start("a");
  auto r1 = Submit("");
  ASSERT_TRUE(backend_.WaitWarmups("a", 1, kWait));

  const auto t0 = std::chrono::steady_clock::now();
  manager_->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kPrompt);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kShutdown, Code::kShuttingDown);
  EXPECT_EQ(backend_.live_models(), 0);
}

TEST_F(ManagerTest, ShutdownWhileGenerating) {
  StartReady("a");
  backend_.CloseGate();
  auto r1 = Submit("a");
  auto r2 = Submit("a");
  ASSERT_TRUE(backend_.WaitGenerates("a", 1, kWait));

  const auto t0 = std::chrono::steady_clock::now();
  manager_->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kPrompt);
  ExpectCancelled(WaitOutcome(r1), CancelReason::kShutdown, Code::kShuttingDown);
  ExpectCancelled(WaitOutcome(r2), CancelReason::kShutdown, Code::kShuttingDown);
  EXPECT_EQ(backend_.live_models(), 0);
  EXPECT_EQ(backend_.generates("a"), 1);
}

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

// ---- timings

TEST_F(ManagerTest, LoadProgressReachesTheObserverForTheModelBeingLoaded) {
  StartReady("a");
  ExpectOk(WaitOutcome(Submit("b")), "b");
  const std::vector<std::string> progress = observer_.progress();
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), "b:100");
}

TEST_F(ManagerTest, SwitchAndQueueTimingsAreFilled) {
  constexpr milliseconds kHold{50};
  StartReady("a");
  backend_.SetTokenDelay(milliseconds(1));
  backend_.BlockLoad("b");
  auto r1 = Submit("b");
  ASSERT_TRUE(backend_.WaitLoads("b", 1, kWait));
  std::this_thread::sleep_for(kHold);  // a switch of a known minimum length
  backend_.ReleaseLoad("b");
  Seen s1 = WaitOutcome(r1);
  ExpectOk(s1, "b");
  EXPECT_GE(s1.outcome.timings.switch_ms, kHold.count());
  EXPECT_GE(s1.outcome.timings.queue_ms, 0.0);
  EXPECT_LT(s1.outcome.timings.queue_ms, s1.outcome.timings.switch_ms);
  EXPECT_GT(s1.outcome.timings.generation_ms, 0.0);
  EXPECT_GT(s1.outcome.timings.tokens_per_second, 0.0);
  EXPECT_GE(s1.outcome.timings.prompt_ms, 0.0);

  backend_.CloseGate();
  auto r2 = Submit("b");
  ASSERT_TRUE(backend_.WaitGenerates("b", 2, kWait));
  auto r3 = Submit("b");
  std::this_thread::sleep_for(kHold);  // r3 waits behind r2 at least this long
  backend_.OpenGate();
  ExpectOk(WaitOutcome(r2), "b");
  Seen s3 = WaitOutcome(r3);
  ExpectOk(s3, "b");
  EXPECT_GE(s3.outcome.timings.queue_ms, kHold.count());
  EXPECT_EQ(s3.outcome.timings.switch_ms, 0.0);
}

// ---- a storm

// Clients alternate between two models from several threads. Every request
// ends, either on its own model or cancelled by a switch; none hangs and no
// request ever runs on a model it did not ask for.
TEST_F(ManagerTest, AlternatingModelsFromManyThreads) {
  StartReady("a");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 8;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;  // GUARDED_BY(mu)
  int ok = 0;                         // GUARDED_BY(mu)
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string model = (t + i) % 2 == 0 ? "a" : "b";
        auto r = NewRequest(model, 3);
        Status st = manager_->Submit(r);
        std::string failure;
        bool good = false;
        if (!st.ok()) {
          failure = "submit: " + st.message();
        } else {
          Seen s = WaitOutcome(r);
          if (!s.done) {
            failure = "request hung";
          } else if (s.outcome.status.ok()) {
            good = s.outcome.model == model && s.text == FakeText(model, 3);
            if (!good) failure = "wrong model or text: " + s.text;
          } else if (s.outcome.status.code() != Code::kCancelled ||
                     s.outcome.cancel_reason != CancelReason::kSwitch) {
            failure = "unexpected: " + s.outcome.status.message();
          }
        }
        std::lock_guard lock(mu);
        if (!failure.empty()) failures.push_back(failure);
        ok += good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_GE(ok, 1);
  // The manager settles on whichever model came last.
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) {
    return s.state == ModelState::kReady && s.loaded == s.target && s.queued == 0 && s.running == 0;
  }));
}

}  // namespace
}  // namespace modeld::manager
