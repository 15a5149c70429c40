#include "internal/platform/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>

#include "internal/platform/glibc_tunables.h"

namespace modeld::platform {

MallocSettings MallocSettingsToApply(std::string_view glibc_tunables) {
  return {.trim_threshold = !TunableIsSet(glibc_tunables, "glibc.malloc.trim_threshold"),
          .mmap_threshold = !TunableIsSet(glibc_tunables, "glibc.malloc.mmap_threshold")};
}

HeapRelease ReleaseFreeHeapAbove(size_t keep) {
  const struct mallinfo2 info = mallinfo2();
  HeapRelease out{.free_bytes = static_cast<long long>(info.fordblks)};
  if (info.fordblks > keep) {
    malloc_trim(0);
    out.trimmed = true;
  }
  return out;
}

std::string KeepFreedHeap() {
  const char* env = std::getenv("GLIBC_TUNABLES");
  const MallocSettings s = MallocSettingsToApply(env != nullptr ? env : "");
  std::string done;
  auto set = [&done](bool wanted, int param, int value, const char* name) {
    if (!wanted || mallopt(param, value) != 1) return;
    if (!done.empty()) done += ',';
    done += name;
    done += '=';
    done += std::to_string(value);
  };
  // Either threshold alone also turns off glibc's dynamic thresholds, which
  // is what lets a 400 KB vector stay in the arena instead of being mmap'd.
  set(s.trim_threshold, M_TRIM_THRESHOLD, kTrimThresholdBytes, "trim_threshold");
  set(s.mmap_threshold, M_MMAP_THRESHOLD, kMmapThresholdBytes, "mmap_threshold");
  return done.empty() ? "left to GLIBC_TUNABLES" : done;
}

}  // namespace modeld::platform
