#pragma once

#include "internal/manager/observer.h"

namespace modeld::manager {

// Writes one JSON log line per load or switch. Thread-safe (the logger is).
class LogObserver : public Observer {
 public:
  void OnSwitch(const SwitchReport& report) override;
};

}  // namespace modeld::manager
