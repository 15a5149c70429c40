#include "internal/platform/malloc_tuning.h"

#include <malloc.h>

#include <cstdlib>

namespace modeld::platform {
namespace {

// True when `tunables` (name=value pairs joined by ':') sets `name`.
bool Names(std::string_view tunables, std::string_view name) {
  size_t pos = 0;
  while ((pos = tunables.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || tunables[pos - 1] == ':';
    const size_t end = pos + name.size();
    if (starts && end < tunables.size() && tunables[end] == '=') return true;
    pos = end;
  }
  return false;
}

}  // namespace

MallocSettings MallocSettingsToApply(std::string_view glibc_tunables) {
  return {.trim_threshold = !Names(glibc_tunables, "glibc.malloc.trim_threshold"),
          .mmap_threshold = !Names(glibc_tunables, "glibc.malloc.mmap_threshold")};
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
