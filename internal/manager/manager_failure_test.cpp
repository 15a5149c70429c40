// The manager when a load or warm-up fails, and at shutdown.
#include "internal/manager/manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers
using ManagerTest = ManagerFixture;

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

}  // namespace
}  // namespace modeld::manager
