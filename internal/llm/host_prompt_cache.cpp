#include "internal/llm/host_prompt_cache.h"

#include <algorithm>
#include <utility>

namespace modeld::llm {
namespace {

size_t CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

void HostPromptCache::EraseLocked(std::list<CachedPrompt>::iterator it) {
  bytes_.store(bytes_.load(std::memory_order_relaxed) - it->bytes(), std::memory_order_relaxed);
  lru_.erase(it);
}

void HostPromptCache::EvictToFitLocked(uint64_t incoming) {
  while (!lru_.empty() && bytes_.load(std::memory_order_relaxed) + incoming > budget_) {
    EraseLocked(std::prev(lru_.end()));
  }
}

void HostPromptCache::Put(CachedPrompt entry) {
  if (entry.tokens.empty() || entry.bytes() > budget_) return;
  sync::MutexLock lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    const bool covered = it->model == entry.model && it->tokens.size() <= entry.tokens.size() &&
                         CommonPrefix(it->tokens, entry.tokens) == it->tokens.size();
    auto next = std::next(it);
    if (covered) EraseLocked(it);
    it = next;
  }
  EvictToFitLocked(entry.bytes());
  bytes_.store(bytes_.load(std::memory_order_relaxed) + entry.bytes(), std::memory_order_relaxed);
  lru_.push_front(std::move(entry));
}

void HostPromptCache::InvalidateStale(const ModelIdentity& current) {
  sync::MutexLock lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (it->model.id == current.id && !(it->model == current)) EraseLocked(it);
    it = next;
  }
}

std::optional<CachedPrompt> HostPromptCache::TakeLongest(const ModelIdentity& model,
                                                         const std::vector<int32_t>& prompt,
                                                         int min_match, int* match) {
  sync::MutexLock lock(mu_);
  auto best = lru_.end();
  size_t best_len = 0;
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (!(it->model == model)) continue;
    const size_t len = CommonPrefix(it->tokens, prompt);
    if (len > best_len) {
      best = it;
      best_len = len;
    }
  }
  if (best == lru_.end() || best_len < static_cast<size_t>(std::max(1, min_match))) {
    return std::nullopt;
  }
  CachedPrompt out = std::move(*best);
  bytes_.store(bytes_.load(std::memory_order_relaxed) - out.bytes(), std::memory_order_relaxed);
  lru_.erase(best);
  *match = static_cast<int>(best_len);
  return out;
}

size_t HostPromptCache::entries() const {
  sync::MutexLock lock(mu_);
  return lru_.size();
}

}  // namespace modeld::llm
