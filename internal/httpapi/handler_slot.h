#pragma once

#include <atomic>
#include <cstddef>
#include <new>

namespace modeld::httpapi {

// Memory for one outstanding asio handler, reused for every post, so waking
// the io thread once per streamed batch does not touch the heap. Falls back
// to the heap when the slot is busy or too small.
// Thread-safety: Allocate and Deallocate may run on different threads.
class HandlerSlot {
 public:
  void* Allocate(std::size_t n) {
    if (n <= sizeof(storage_) && !in_use_.exchange(true, std::memory_order_acquire)) {
      return storage_;
    }
    return ::operator new(n);
  }
  void Deallocate(void* p) {
    if (p == storage_) {
      in_use_.store(false, std::memory_order_release);
    } else {
      ::operator delete(p);
    }
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[256];
  std::atomic<bool> in_use_{false};
};

// A standard allocator over a HandlerSlot, for asio's associated_allocator.
template <typename T>
class SlotAllocator {
 public:
  using value_type = T;
  explicit SlotAllocator(HandlerSlot* slot) noexcept : slot_(slot) {}
  template <typename U>
  SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot()) {}  // NOLINT
  T* allocate(std::size_t n) { return static_cast<T*>(slot_->Allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) { slot_->Deallocate(p); }
  HandlerSlot* slot() const noexcept { return slot_; }
  template <typename U>
  bool operator==(const SlotAllocator<U>& o) const noexcept {
    return slot_ == o.slot();
  }
  template <typename U>
  bool operator!=(const SlotAllocator<U>& o) const noexcept {
    return slot_ != o.slot();
  }

 private:
  HandlerSlot* slot_;
};

}  // namespace modeld::httpapi
