#pragma once

#include <utility>
#include <vector>

#include "internal/manager/observer.h"

namespace modeld::manager {

// Forwards every event to several observers, in order (e.g. the log and the
// metrics). Thread-safe when they are; the list is fixed at construction.
class MultiObserver final : public Observer {
 public:
  explicit MultiObserver(std::vector<Observer*> observers) : observers_(std::move(observers)) {}

  void OnSwitch(const SwitchReport& r) override {
    for (auto* o : observers_) o->OnSwitch(r);
  }
  void OnStateChange(ModelState state, const std::string& model) override {
    for (auto* o : observers_) o->OnStateChange(state, model);
  }
  void OnLoadProgress(const std::string& model, float progress) override {
    for (auto* o : observers_) o->OnLoadProgress(model, progress);
  }
  void OnCancel(CancelReason reason) override {
    for (auto* o : observers_) o->OnCancel(reason);
  }
  void OnQueueDepth(size_t depth) override {
    for (auto* o : observers_) o->OnQueueDepth(depth);
  }
  void OnRunning(size_t running) override {
    for (auto* o : observers_) o->OnRunning(running);
  }
  void OnSubmit(const std::string& model) override {
    for (auto* o : observers_) o->OnSubmit(model);
  }
  void OnFinish(const Outcome& outcome) override {
    for (auto* o : observers_) o->OnFinish(outcome);
  }

 private:
  const std::vector<Observer*> observers_;  // not owned; outlive this
};

}  // namespace modeld::manager
