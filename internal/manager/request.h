#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include "internal/sync/mutex.h"

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::manager {

using Clock = std::chrono::steady_clock;

// Milliseconds from `start` to `end`.
inline double MsSince(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

enum class CancelReason { kNone, kSwitch, kDisconnect, kShutdown };
std::string_view CancelReasonName(CancelReason reason);

struct Timings {
  double queue_ms = 0;
  double switch_ms = 0;
  double prompt_ms = 0;
  double generation_ms = 0;
  double tokens_per_second = 0;
};

// How a request ended. `status` is ok for a completed generation.
struct Outcome {
  Status status;
  CancelReason cancel_reason = CancelReason::kNone;
  std::string model;
  llm::GenerateStats stats;
  Timings timings;
};

// One inference request travelling from the HTTP layer through the manager
// to the model and back.
//
// Thread-safety: the producer side (Started, Deliver, Finish) runs on the
// manager's worker thread, the consumer side (SetNotify, Take) on the HTTP
// thread, Cancel on any thread. Shared state is guarded by mu_.
class Request final : public llm::TextSink {
 public:
  // `model` may be empty: the manager then uses the current model.
  Request(std::string model, llm::GenerateParams params);

  // ---- constant after construction (read by any thread)
  const std::string& requested_model() const { return requested_model_; }
  const llm::GenerateParams& params() const { return params_; }

  // ---- consumer side
  // Called on the worker thread when the consumer is parked and something
  // happened. Must not block; typically posts to an event loop. Set it before
  // the request is submitted.
  void SetNotify(std::function<void()> notify);

  struct Update {
    bool started = false;   // generation began (first time only)
    bool finished = false;  // Outcome() is final (all text has been taken)
  };
  // Swaps pending text into `text` (which should be empty; its capacity is
  // recycled). Parks the consumer when there is nothing new, so the notify
  // callback runs on the next event.
  Update Take(std::string& text);
  // Valid once Take reported finished.
  const Outcome& outcome() const {
    sync::MutexLock lock(mu_);
    return outcome_.value();
  }

  // ---- any thread
  // Asks the generation to stop. The first reason wins.
  void Cancel(CancelReason reason, Status status);
  bool cancelled() const { return cancel_.load(std::memory_order_relaxed); }
  const std::atomic<bool>& cancel_flag() const { return cancel_; }
  CancelReason cancel_reason() const;
  Status cancel_status() const;

  // ---- producer side (worker thread)
  void Started() override;
  void Deliver(std::string_view batch) override;
  void Finish(Outcome outcome);
  bool finished() const;

  // ---- manager bookkeeping (guarded by the manager's mutex)
  std::string model;  // resolved model id
  Clock::time_point enqueued_at{};
  Clock::time_point dequeued_at{};
  double switch_ms = 0;
  // ---- the manager's worker thread only
  std::optional<llm::PreparedPrompt> prompt;  // tokenized while waiting at the queue's head
  llm::GenerateStats stats;                   // filled in by the model while it runs
  int counted_tokens = 0;  // of stats.completion_tokens, in the manager's running total

 private:
  void SignalLocked() REQUIRES(mu_);

  const std::string requested_model_;
  const llm::GenerateParams params_;
  std::atomic<bool> cancel_{false};

  mutable sync::Mutex mu_;
  std::function<void()> notify_ GUARDED_BY(mu_);
  std::string text_ GUARDED_BY(mu_);
  bool parked_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  bool started_reported_ GUARDED_BY(mu_) = false;
  std::optional<Outcome> outcome_ GUARDED_BY(mu_);  // written once
  CancelReason cancel_reason_ GUARDED_BY(mu_) = CancelReason::kNone;
  Status cancel_status_ GUARDED_BY(mu_);
};

}  // namespace modeld::manager
