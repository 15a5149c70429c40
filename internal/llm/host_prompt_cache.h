#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>
#include "internal/sync/mutex.h"

namespace modeld::llm {

// Which model file a cache entry belongs to: the registry id and the file's
// identity, so a changed file never serves stale KV data.
struct ModelIdentity {
  std::string id;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const ModelIdentity&) const = default;
};

// KV state of one cached token prefix, saved from a context that was freed.
struct CachedPrompt {
  ModelIdentity model;
  std::vector<int32_t> tokens;  // the prefix the state holds, in order
  std::vector<uint8_t> state;   // llama_state_seq_get_data of one sequence
  size_t bytes() const { return state.size() + tokens.size() * sizeof(int32_t); }
};

// Prompt caches kept in host RAM across model switches, least recently used
// evicted first; the total never exceeds the budget (`prompt_cache_bytes`:
// the saved KV state plus its tokens).
// Thread-safety: all methods are safe to call from any thread (mu_).
class HostPromptCache {
 public:
  explicit HostPromptCache(uint64_t budget_bytes) : budget_(budget_bytes) {}

  // Keeps `entry`, evicting the least recently used ones to fit. Entries of
  // the same model whose tokens it extends are dropped (it covers them). An
  // entry larger than the whole budget is not kept.
  void Put(CachedPrompt entry);
  // Drops every entry of `current.id` saved from a different file.
  void InvalidateStale(const ModelIdentity& current);
  // Removes and returns the entry of `model` sharing the longest prefix with
  // `prompt`, when that prefix has at least `min_match` tokens; `match` is
  // its length.
  std::optional<CachedPrompt> TakeLongest(const ModelIdentity& model,
                                          const std::vector<int32_t>& prompt, int min_match,
                                          int* match);

  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  uint64_t budget() const { return budget_; }
  size_t entries() const;

 private:
  void EvictToFitLocked(uint64_t incoming) REQUIRES(mu_);
  void EraseLocked(std::list<CachedPrompt>::iterator it) REQUIRES(mu_);

  const uint64_t budget_;
  mutable sync::Mutex mu_;
  std::list<CachedPrompt> lru_ GUARDED_BY(mu_);  // most recently used first
  std::atomic<uint64_t> bytes_{0};               // written under mu_, read anywhere
};

}  // namespace modeld::llm
