#pragma once

// Keeps freed heap memory for reuse instead of handing it back per free.
//
// llama.cpp's grammar sampler allocates and frees vocabulary-sized vectors
// for every token it rejects. On modeld's worker thread (a non-main malloc
// arena) glibc gives the freed top back to the kernel at once, so the next
// token faults the same pages in again: on `tiny` with a json_schema that was
// a quarter of decode time. A fixed trim threshold and mmap threshold keep
// those chunks in the arena. RSS stays bounded because modeld calls
// malloc_trim(0) itself when idle after a switch with much heap free
// (ReleaseFreeHeapAbove), and the big buffers are mmap'd, not heap.

#include <cstddef>
#include <string>
#include <string_view>

namespace modeld::platform {

// What KeepFreedHeap sets, unless GLIBC_TUNABLES names the same setting.
inline constexpr int kTrimThresholdBytes = 256 << 20;
// A load's per-tensor read buffers for repacking (6.5 MB for a `1b` FFN
// weight) come back from the heap for the next tensor instead of being
// mapped and faulted in again; buffers from 8 MiB up (weights, KV cache,
// compute) are mmap'd, madvised for huge pages (huge_pages.h) and returned
// whole when freed.
inline constexpr int kMmapThresholdBytes = 8 << 20;
// How much free heap may stay with the process once a switch has settled.
inline constexpr size_t kKeptFreeHeapBytes = 8 << 20;

struct MallocSettings {
  bool trim_threshold = false;
  bool mmap_threshold = false;
};

// Which settings modeld should apply, given the user's GLIBC_TUNABLES: each
// one the user set there is left to them.
MallocSettings MallocSettingsToApply(std::string_view glibc_tunables);

struct HeapRelease {
  long long free_bytes = 0;  // free bytes in malloc's arenas before
  bool trimmed = false;
};

// Gives free heap back to the kernel (malloc_trim) when more than `keep`
// bytes of it are free; otherwise keeps it, so that the next load reuses it
// without page faults.
HeapRelease ReleaseFreeHeapAbove(size_t keep);

// Applies MallocSettingsToApply(getenv("GLIBC_TUNABLES")) with mallopt and
// returns what it did, for the start-up log line. Call before any thread.
std::string KeepFreedHeap();

}  // namespace modeld::platform
