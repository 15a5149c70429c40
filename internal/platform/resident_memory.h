#pragma once

// What this process holds in RAM, split the way the kernel counts it, so a
// model's memory can be measured rather than estimated.

#include <cstdint>
#include <string_view>

namespace modeld::platform {

struct ResidentMemory {
  int64_t anon = -1;  // RssAnon: heap and other private memory (repacked weights, KV cache)
  int64_t file = -1;  // RssFile: mapped file pages (mmap'd weights; page cache)
  bool ok() const { return anon >= 0 && file >= 0; }
  int64_t total() const { return anon + file; }
};

// Parses the text of /proc/<pid>/status; fields it lacks stay -1.
ResidentMemory ParseResidentMemory(std::string_view status);

// This process's resident memory now; fields stay -1 when /proc cannot tell.
ResidentMemory ReadResidentMemory();

// Bytes malloc has handed out and not had back (arenas plus mmap'd chunks).
// Unlike RSS, it counts memory a new allocation reused from freed heap.
int64_t HeapInUseBytes();

}  // namespace modeld::platform
