#include "internal/manager/log_observer.h"

#include <cmath>

#include "internal/log/log.h"

namespace modeld::manager {
namespace {

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

}  // namespace

void LogObserver::OnSwitch(const SwitchReport& r) {
  nlohmann::json fields = {
      {"from", r.from.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.from)},
      {"to", r.to},
      {"load_ms", Round3(r.load_ms)},
      {"warmup_ms", Round3(r.warmup_ms)},
      {"free_ms", Round3(r.free_ms)},
      {"model_ms", Round3(r.model_ms)},
      {"context_ms", Round3(r.context_ms)},
      {"standby", r.from_standby},
      {"outcome", r.outcome}};
  if (!r.error.empty()) fields["error"] = r.error;
  if (r.outcome == "failed") {
    log::Error("switch", fields);
  } else {
    log::Info("switch", fields);
  }
}

void LogObserver::OnStateChange(ModelState state, const std::string& model) {
  log::Info("state", {{"state", ModelStateName(state)},
                      {"model", model.empty() ? nlohmann::json(nullptr) : nlohmann::json(model)}});
}

}  // namespace modeld::manager
