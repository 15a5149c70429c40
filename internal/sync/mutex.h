#pragma once

#include <condition_variable>
#include <mutex>

#include "internal/sync/thread_annotations.h"

namespace modeld::sync {

// A std::mutex that clang's thread-safety analysis knows as a capability, so
// GUARDED_BY(mu_) fields and REQUIRES(mu_) methods are checked at compile
// time. It is BasicLockable: CondVar waits on it directly. Thread-safe.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope, like std::lock_guard, but visible to the
// analysis. Not thread-safe: one scope of one thread.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable used with a held Mutex (which Wait releases while it
// blocks and holds again on return). Waits are loops over the caller's own
// condition, so the analysis sees every guarded read. Thread-safe.
class CondVar {
 public:
  void Wait(Mutex& mu) REQUIRES(mu) { cv_.wait(mu); }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

}  // namespace modeld::sync
