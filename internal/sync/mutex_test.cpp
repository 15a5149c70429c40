#include "internal/sync/mutex.h"

#include <gtest/gtest.h>

#include <thread>

namespace modeld::sync {
namespace {

// A counter guarded the way modeld's classes guard their state.
class Counter {
 public:
  void Add() {
    MutexLock lock(mu_);
    ++n_;
    cv_.NotifyAll();
  }
  // Waits (no timeout: the test's own timeout is the hang guard) for `n`.
  void WaitFor(int n) {
    MutexLock lock(mu_);
    while (n_ < n) cv_.Wait(mu_);
  }
  int Get() {
    MutexLock lock(mu_);
    return n_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int n_ GUARDED_BY(mu_) = 0;
};

TEST(MutexTest, GuardsACounterAcrossThreads) {
  Counter c;
  std::thread a([&] {
    for (int i = 0; i < 10000; ++i) c.Add();
  });
  std::thread b([&] {
    for (int i = 0; i < 10000; ++i) c.Add();
  });
  a.join();
  b.join();
  EXPECT_EQ(c.Get(), 20000);
}

TEST(MutexTest, WaitReleasesTheMutexUntilNotified) {
  Counter c;
  // The waiter holds the mutex while it checks; Add could never run if Wait
  // did not release it.
  std::thread waiter([&] { c.WaitFor(3); });
  for (int i = 0; i < 3; ++i) c.Add();
  waiter.join();
  EXPECT_EQ(c.Get(), 3);
}

}  // namespace
}  // namespace modeld::sync
