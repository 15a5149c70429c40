#include "internal/platform/signals.h"

#include <pthread.h>

#include <gtest/gtest.h>

#include <csignal>
#include <vector>

namespace modeld::platform {
namespace {

// Restores the thread's signal mask (and SIGPIPE's action) after a test.
class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { pthread_sigmask(SIG_SETMASK, nullptr, &saved_); }
  void TearDown() override {
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    std::signal(SIGPIPE, SIG_DFL);
  }
  sigset_t saved_{};
};

// Before, SIGHUP and SIGUSR1 kept their default action and ended the process.
TEST_F(SignalsTest, HupAndUsrSignalsArePassedOnAndTheWaitGoesOnUntilTerm) {
  BlockServiceSignals();
  // Queued for this thread; blocked, so none of them acts before the wait.
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2, SIGTERM})
    ASSERT_EQ(pthread_kill(pthread_self(), sig), 0);
  std::vector<int> others;
  const int stop = WaitForStopSignal([&others](int sig) { others.push_back(sig); });
  EXPECT_EQ(stop, SIGTERM);
  // Pending standard signals are delivered lowest number first.
  EXPECT_EQ(others, (std::vector<int>{SIGHUP, SIGUSR1, SIGUSR2}));
}

TEST_F(SignalsTest, IntAlsoStops) {
  BlockServiceSignals();
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(WaitForStopSignal(nullptr), SIGINT);
}

TEST(SignalNameTest, NamesTheServiceSignals) {
  EXPECT_STREQ(SignalName(SIGHUP), "SIGHUP");
  EXPECT_STREQ(SignalName(SIGUSR2), "SIGUSR2");
  EXPECT_STREQ(SignalName(SIGTERM), "SIGTERM");
}

}  // namespace
}  // namespace modeld::platform
