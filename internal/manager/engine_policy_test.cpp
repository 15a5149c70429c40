#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager.h"
#include "internal/manager/manager_test_util.h"

// The serving engine's policy, driven through the Manager with the fake
// backend: several sequences in one context, admission by slots and KV
// cells in arrival order, and what cancels and switches do to them.

namespace modeld::manager {
namespace {

using testutil::kWait;
using testutil::kWideParallel;

class EnginePolicyTest : public testutil::ManagerFixture {
 protected:
  // Loads "wide" and queues `max_tokens.size()` requests while it warms up,
  // so the worker sees them all at once when it becomes ready.
  std::vector<std::shared_ptr<Request>> StartWithQueued(const std::vector<int>& max_tokens,
                                                        Options options = {}) {
    backend_.BlockWarmup("wide");
    Make(options);
    manager_->Start("wide");
    EXPECT_TRUE(backend_.WaitWarmups("wide", 1, kWait));
    std::vector<std::shared_ptr<Request>> out;
    for (int n : max_tokens) out.push_back(Submit("wide", n));
    backend_.ReleaseWarmup("wide");
    return out;
  }
};

TEST_F(EnginePolicyTest, RequestsRunTogetherInOneContext) {
  backend_.CloseGate();
  auto rs = StartWithQueued({4, 4, 4});
  ASSERT_TRUE(backend_.WaitRunning(kWideParallel, kWait));
  Snapshot s = manager_->GetSnapshot();
  EXPECT_EQ(s.running, 3u);
  EXPECT_EQ(s.queued, 0u);
  backend_.OpenGate();
  for (const auto& r : rs) ExpectOk(testutil::WaitOutcome(r), "wide");
  EXPECT_EQ(backend_.max_running_generates(), 3);
  EXPECT_EQ(backend_.live_models(), 1);
}

TEST_F(EnginePolicyTest, AFreedSlotGoesToTheNextWaitingRequest) {
  backend_.CloseGate();
  auto rs = StartWithQueued({4, 4, 4, 4});
  ASSERT_TRUE(backend_.WaitRunning(kWideParallel, kWait));
  EXPECT_EQ(manager_->GetSnapshot().queued, 1u);
  backend_.OpenGate();
  for (const auto& r : rs) ExpectOk(testutil::WaitOutcome(r), "wide");
  EXPECT_EQ(backend_.generates("wide"), 4);
  EXPECT_EQ(backend_.max_running_generates(), 3);
}

// Requests start in arrival order: the one that waited longest takes the
// first free slot, never a later arrival.
TEST_F(EnginePolicyTest, AWaitingRequestIsNotOvertaken) {
  backend_.CloseGate();
  auto rs = StartWithQueued({2, 30, 30, 5});
  ASSERT_TRUE(backend_.WaitRunning(kWideParallel, kWait));
  EXPECT_EQ(manager_->GetSnapshot().queued, 1u);
  auto late = Submit("wide", 5);
  backend_.OpenGate();
  for (const auto& r : rs) ASSERT_TRUE(testutil::WaitOutcome(r).done);
  ASSERT_TRUE(testutil::WaitOutcome(late).done);
  // rs[0] ends first (2 tokens); rs[3] takes its slot before `late` does.
  EXPECT_LE(rs[3]->dequeued_at, late->dequeued_at);
  EXPECT_LE(rs[0]->outcome().stats.completion_tokens, 2);
}

TEST_F(EnginePolicyTest, CancellingOneSequenceLeavesTheOthers) {
  backend_.CloseGate();
  auto rs = StartWithQueued({6, 6, 6});
  ASSERT_TRUE(backend_.WaitRunning(3, kWait));
  backend_.Allow(3);  // one token each
  ASSERT_TRUE(backend_.WaitTokens(3, kWait));
  manager_->Cancel(rs[1], CancelReason::kDisconnect);
  backend_.OpenGate();
  testutil::Seen cancelled = testutil::WaitOutcome(rs[1]);
  ExpectCancelled(cancelled, CancelReason::kDisconnect);
  EXPECT_LT(cancelled.outcome.stats.completion_tokens, 6);
  ExpectOk(testutil::WaitOutcome(rs[0]), "wide", 6);
  ExpectOk(testutil::WaitOutcome(rs[2]), "wide", 6);
}

TEST_F(EnginePolicyTest, ASwitchCancelsEveryRunningAndWaitingSequence) {
  backend_.CloseGate();
  auto rs = StartWithQueued({20, 20, 20, 20});
  ASSERT_TRUE(backend_.WaitRunning(3, kWait));
  auto other = Submit("a");
  for (const auto& r : rs) ExpectCancelled(testutil::WaitOutcome(r), CancelReason::kSwitch);
  backend_.OpenGate();
  ExpectOk(testutil::WaitOutcome(other), "a");
  EXPECT_EQ(backend_.live_models(), 1);
}

// max_queue counts waiting requests only: three run, one waits, the next is
// rejected.
TEST_F(EnginePolicyTest, QueueFullCountsWaitingRequestsNotRunningOnes) {
  Options o;
  o.max_queue = 1;
  backend_.CloseGate();
  auto rs = StartWithQueued({20}, o);
  ASSERT_TRUE(backend_.WaitRunning(1, kWait));
  // The worker waits for token permits inside a step, one per running
  // sequence; once the step ends, the next request is admitted.
  for (int running = 2; running <= kWideParallel; ++running) {
    rs.push_back(Submit("wide", 20));
    backend_.Allow(running - 1);
    ASSERT_TRUE(backend_.WaitRunning(running, kWait))
        << backend_.running_generates() << " running; snapshot running "
        << manager_->GetSnapshot().running << " queued " << manager_->GetSnapshot().queued
        << " tokens " << backend_.tokens_emitted();
  }
  rs.push_back(Submit("wide", 20));  // waits: every slot is busy
  auto rejected = testutil::NewRequest("wide");
  EXPECT_EQ(manager_->Submit(rejected).code(), Code::kQueueFull);
  Snapshot s = manager_->GetSnapshot();
  EXPECT_EQ(s.running, 3u);
  EXPECT_EQ(s.queued, 1u);
  backend_.OpenGate();
  for (const auto& r : rs) ExpectOk(testutil::WaitOutcome(r), "wide", 20);
  EXPECT_FALSE(rejected->finished());
}

TEST_F(EnginePolicyTest, ARejectedPromptFailsOnlyItsOwnRequest) {
  backend_.BlockWarmup("wide");
  Make();
  manager_->Start("wide");
  ASSERT_TRUE(backend_.WaitWarmups("wide", 1, kWait));
  auto good = Submit("wide");
  llm::GenerateParams p;
  p.prompt = "too long";  // the fake's Prepare rejects it
  p.max_tokens = 4;
  auto bad = std::make_shared<Request>("wide", std::move(p));
  ASSERT_TRUE(manager_->Submit(bad).ok());
  auto after = Submit("wide");
  backend_.ReleaseWarmup("wide");
  testutil::Seen seen = testutil::WaitOutcome(bad);
  ASSERT_TRUE(seen.done);
  EXPECT_EQ(seen.outcome.status.code(), Code::kInvalidRequest);
  ExpectOk(testutil::WaitOutcome(good), "wide");
  ExpectOk(testutil::WaitOutcome(after), "wide");
}

TEST_F(EnginePolicyTest, SnapshotReportsKvCells) {
  backend_.CloseGate();
  auto rs = StartWithQueued({10});
  ASSERT_TRUE(backend_.WaitRunning(1, kWait));
  backend_.Allow(2);
  ASSERT_TRUE(backend_.WaitTokens(2, kWait));
  ASSERT_TRUE(WaitSnapshot([](const Snapshot& s) { return s.kv_cells_used > 0; }));
  EXPECT_EQ(manager_->GetSnapshot().kv_cells, testutil::kWideCells);
  backend_.OpenGate();
  ExpectOk(testutil::WaitOutcome(rs[0]), "wide", 10);
}

}  // namespace
}  // namespace modeld::manager
