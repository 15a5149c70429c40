#pragma once

#include <vector>

namespace modeld::manager {

// The admission policy of the serving engine: a waiting request starts when
// one of the loaded model's sequence slots is free. The manager offers
// requests in arrival order and stops at the first that cannot start, so
// nobody is overtaken. KV cells are not reserved here: the sequences share
// the context's cells, and when generation fills them the model preempts
// its most recently started sequence and recomputes it later (see
// llm::Model), so a request never fails because of the others.
// Thread-safety: not thread-safe; the manager guards it with its mutex.
class Admission {
 public:
  // A freshly loaded model with `slots` sequences (0: none loaded).
  void Reset(int slots);

  // The free slot the next request starts in; -1 when it must wait.
  int TryAdmit();
  // The request in `slot` ended: the slot is free again.
  void Release(int slot);

  bool has_free_slot() const { return running_ < slots(); }
  int running() const { return running_; }
  int slots() const { return static_cast<int>(busy_.size()); }

 private:
  std::vector<bool> busy_;  // per slot
  int running_ = 0;
};

}  // namespace modeld::manager
