#include "internal/manager/admission.h"

#include <algorithm>

namespace modeld::manager {

void Admission::Reset(int slots) {
  busy_.assign(static_cast<size_t>(std::max(0, slots)), false);
  running_ = 0;
}

int Admission::TryAdmit() {
  for (size_t i = 0; i < busy_.size(); ++i) {
    if (busy_[i]) continue;
    busy_[i] = true;
    ++running_;
    return static_cast<int>(i);
  }
  return -1;
}

void Admission::Release(int slot) {
  if (slot < 0 || slot >= slots() || !busy_[static_cast<size_t>(slot)]) return;
  busy_[static_cast<size_t>(slot)] = false;
  --running_;
}

}  // namespace modeld::manager
