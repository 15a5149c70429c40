#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>
#include "internal/sync/mutex.h"

namespace modeld::llm {

// What makes loaded weights reusable: the same file, unchanged, loaded the
// same way.
struct WeightsKey {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int n_gpu_layers = 0;
  bool repack = true;
  bool operator==(const WeightsKey&) const = default;
};

struct StandbyEntryInfo {
  std::string id;  // the registry id that last used the weights
  uint64_t bytes = 0;
};

// Weights of switched-out models, kept loaded so that switching back skips
// reading the file, the vocabulary and repacking. The total stays within the
// budget; the least recently switched-out entry is evicted (freed) first.
// A template over the weights type so the policy is tested without llama.cpp.
// Thread-safety: all methods are safe to call from any thread (mu_); the
// weights are freed outside the lock.
template <typename Weights>
class StandbyPool {
 public:
  using Handle = std::shared_ptr<Weights>;

  // Weights taken back out, with the bytes they were counted at.
  struct Kept {
    Handle weights;
    uint64_t bytes = 0;
  };

  explicit StandbyPool(uint64_t budget_bytes) : budget_(budget_bytes) {}

  // Keeps `weights` (`bytes` large) for `key`, evicting the least recently
  // used entries to fit. Weights larger than the whole budget are freed.
  // Returns whether they were kept.
  bool Put(WeightsKey key, std::string id, Handle weights, uint64_t bytes) {
    std::vector<Handle> freed;  // destroyed after the lock is released
    {
      sync::MutexLock lock(mu_);
      EraseLocked(key.path, &freed);
      if (bytes > budget_) {
        freed.push_back(std::move(weights));
        return false;
      }
      while (bytes_ + bytes > budget_ && !entries_.empty()) {
        bytes_ -= entries_.front().bytes;
        freed.push_back(std::move(entries_.front().weights));
        entries_.pop_front();
      }
      bytes_ += bytes;
      entries_.push_back(Entry{std::move(key), std::move(id), std::move(weights), bytes});
    }
    return true;
  }

  // Removes and returns the weights kept for `key` (null weights when none).
  // An entry for the same path under another key (the file changed, or is
  // loaded another way) is stale and freed.
  Kept Take(const WeightsKey& key) {
    std::vector<Handle> freed;
    sync::MutexLock lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->key.path != key.path) continue;
      Kept kept{std::move(it->weights), it->bytes};
      const bool same = it->key == key;
      bytes_ -= it->bytes;
      entries_.erase(it);
      if (same) return kept;
      freed.push_back(std::move(kept.weights));
      return {};
    }
    return {};
  }

  // Frees the entries last used under registry id `id` (a reload removed
  // or changed that model). Returns how many.
  size_t EraseId(const std::string& id) {
    std::list<Entry> freed;  // destroyed after the lock is released
    sync::MutexLock lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto next = std::next(it);
      if (it->id == id) {
        bytes_ -= it->bytes;
        freed.splice(freed.end(), entries_, it);
      }
      it = next;
    }
    return freed.size();
  }

  // Frees every entry (to make room when memory ran out).
  void Clear() {
    std::list<Entry> freed;
    sync::MutexLock lock(mu_);
    freed.swap(entries_);
    bytes_ = 0;
  }

  // Oldest first.
  std::vector<StandbyEntryInfo> List() const {
    sync::MutexLock lock(mu_);
    std::vector<StandbyEntryInfo> out;
    out.reserve(entries_.size());
    for (const Entry& e : entries_) out.push_back({e.id, e.bytes});
    return out;
  }

  uint64_t bytes() const {
    sync::MutexLock lock(mu_);
    return bytes_;
  }
  uint64_t budget() const { return budget_; }

 private:
  struct Entry {
    WeightsKey key;
    std::string id;
    Handle weights;
    uint64_t bytes = 0;
  };

  void EraseLocked(const std::string& path, std::vector<Handle>* freed) REQUIRES(mu_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->key.path == path) {
        bytes_ -= it->bytes;
        freed->push_back(std::move(it->weights));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }

  const uint64_t budget_;
  mutable sync::Mutex mu_;
  std::list<Entry> entries_ GUARDED_BY(mu_);  // least recently put first
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace modeld::llm
