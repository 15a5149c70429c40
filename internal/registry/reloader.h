#pragma once

// Hot reload: re-reads the registry (SIGHUP, --watch-config) and, when the
// new one is valid, puts it in force. An invalid one is refused with a log
// line naming file and line; the old registry stays.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include "internal/sync/mutex.h"

#include "internal/registry/config_source.h"
#include "internal/registry/registry_store.h"

namespace modeld::registry {

// What a reload changes, by model id (file order of the registry they are in).
struct RegistryDiff {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;  // any field of the entry other than its line
  // Top-level settings that differ; they take effect at the next restart.
  std::vector<std::string> restart_needed;
  bool empty() const {
    return added.empty() && removed.empty() && changed.empty() && restart_needed.empty();
  }
};
RegistryDiff DiffRegistries(const Registry& before, const Registry& after);

// Thread-safety: Reload may be called from any thread; calls run one at a
// time (mu_). The counters are atomics.
class Reloader {
 public:
  // Extra checks of the new registry (e.g. that the pinned model is in it).
  using Validate = std::function<Status(const Registry&)>;
  // Puts the new registry in force beyond the store (the manager's catalog).
  // Called with the store already updated.
  using Apply = std::function<void(const Registry& next, const RegistryDiff& diff)>;

  Reloader(ConfigSource source, RegistryStore& store, Validate validate, Apply apply)
      : source_(std::move(source)),
        store_(store),
        validate_(std::move(validate)),
        apply_(std::move(apply)) {}

  // Re-reads everything; `trigger` ("SIGHUP", "watch") goes into the log.
  // Returns whether the new registry is in force.
  bool Reload(std::string_view trigger);

  uint64_t succeeded() const { return ok_.load(std::memory_order_relaxed); }
  uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  const ConfigSource source_;
  RegistryStore& store_;
  const Validate validate_;
  const Apply apply_;
  sync::Mutex mu_;  // one reload at a time
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
};

}  // namespace modeld::registry
