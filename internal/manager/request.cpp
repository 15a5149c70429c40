#include "internal/manager/request.h"

#include <utility>

namespace modeld::manager {

std::string_view CancelReasonName(CancelReason reason) {
  switch (reason) {
    case CancelReason::kNone:
      return "none";
    case CancelReason::kSwitch:
      return "switch";
    case CancelReason::kDisconnect:
      return "disconnect";
    case CancelReason::kShutdown:
      return "shutdown";
  }
  return "none";
}

Request::Request(std::string model, llm::GenerateParams params)
    : requested_model_(std::move(model)), params_(std::move(params)) {
  text_.reserve(4096);
}

void Request::SetNotify(std::function<void()> notify) {
  sync::MutexLock lock(mu_);
  notify_ = std::move(notify);
}

Request::Update Request::Take(std::string& text) {
  sync::MutexLock lock(mu_);
  Update u;
  if (!text_.empty()) {
    text.swap(text_);
    text_.clear();
    wants_.store(true, std::memory_order_release);
  }
  if (started_ && !started_reported_) {
    started_reported_ = true;
    u.started = true;
  }
  if (outcome_.has_value()) {
    u.finished = true;
    notify_ = nullptr;  // drop what the callback holds: nothing more will come
  } else if (!u.started && text.empty()) {
    parked_ = true;
  }
  return u;
}

void Request::SignalLocked() {
  if (!parked_ || !notify_) return;
  parked_ = false;
  notify_();
}

void Request::Cancel(CancelReason reason, Status status) {
  sync::MutexLock lock(mu_);
  if (cancel_reason_ != CancelReason::kNone) return;
  cancel_reason_ = reason;
  cancel_status_ = std::move(status);
  cancel_.store(true, std::memory_order_relaxed);
}

CancelReason Request::cancel_reason() const {
  sync::MutexLock lock(mu_);
  return cancel_reason_;
}

Status Request::cancel_status() const {
  sync::MutexLock lock(mu_);
  return cancel_status_;
}

void Request::Started() {
  sync::MutexLock lock(mu_);
  started_ = true;
  SignalLocked();
}

void Request::Deliver(std::string_view batch) {
  sync::MutexLock lock(mu_);
  text_.append(batch);
  wants_.store(false, std::memory_order_release);
  SignalLocked();
}

void Request::Finish(Outcome outcome) {
  sync::MutexLock lock(mu_);
  if (outcome_.has_value()) return;
  outcome_ = std::move(outcome);
  SignalLocked();
}

bool Request::finished() const {
  sync::MutexLock lock(mu_);
  return outcome_.has_value();
}

}  // namespace modeld::manager
