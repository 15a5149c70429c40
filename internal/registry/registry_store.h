#pragma once

// The registry in force. A reload builds a new immutable Registry and swaps
// the pointer; readers keep the snapshot they took for as long as they use
// it, so a request being handled never sees two registries.

#include <memory>
#include <utility>
#include "internal/sync/mutex.h"

#include "internal/registry/registry.h"

namespace modeld::registry {

// Thread-safety: Get and Set are safe from any thread (mu_); the Registry
// they hand out is immutable.
class RegistryStore {
 public:
  explicit RegistryStore(std::shared_ptr<const Registry> initial) : reg_(std::move(initial)) {}

  std::shared_ptr<const Registry> Get() const {
    sync::MutexLock lock(mu_);
    return reg_;
  }
  void Set(std::shared_ptr<const Registry> next) {
    sync::MutexLock lock(mu_);
    reg_.swap(next);  // the old one is freed by its last reader, maybe here, after unlock
  }

 private:
  mutable sync::Mutex mu_;
  std::shared_ptr<const Registry> reg_ GUARDED_BY(mu_);  // never null
};

}  // namespace modeld::registry
