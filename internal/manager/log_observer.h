#pragma once

#include "internal/manager/observer.h"

namespace modeld::manager {

// Writes one JSON log line per load or switch, and one per state change of
// the model slot (so a load's start is visible). Thread-safe (the logger is).
class LogObserver : public Observer {
 public:
  void OnSwitch(const SwitchReport& report) override;
  void OnStateChange(ModelState state, const std::string& model) override;
};

}  // namespace modeld::manager
