#pragma once

#include "internal/manager/request.h"
#include "internal/manager/state.h"

namespace modeld::manager {

// Hooks for logs and metrics. Called on the manager's threads, sometimes with
// the manager's mutex held: implementations must be quick and must not call
// back into the manager. Implementations must be thread-safe.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnSwitch(const SwitchReport& /*report*/) {}
  virtual void OnStateChange(ModelState /*state*/, const std::string& /*model*/) {}
  // A load of `model` advanced (0..1); called by the loader, without the
  // manager's mutex, as often as llama.cpp reports (throttle if needed).
  virtual void OnLoadProgress(const std::string& /*model*/, float /*progress*/) {}
  virtual void OnCancel(CancelReason /*reason*/) {}
  virtual void OnQueueDepth(size_t /*depth*/) {}
  // Requests decoding in the model's context; called when it changes.
  virtual void OnRunning(size_t /*running*/) {}
  // A request was accepted into the queue; OnFinish follows exactly once.
  virtual void OnSubmit(const std::string& /*model*/) {}
  // A request left the manager with this outcome (after generation or not).
  virtual void OnFinish(const Outcome& /*outcome*/) {}
};

}  // namespace modeld::manager
