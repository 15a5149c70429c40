// The manager's timings and progress, and a switch storm from many threads.
#include "internal/manager/manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager_test_util.h"

namespace modeld::manager {
namespace {

using std::chrono::milliseconds;

using namespace testutil;  // NOLINT(google-build-using-namespace): test helpers
using ManagerTest = ManagerFixture;

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
