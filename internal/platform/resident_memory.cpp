#include "internal/platform/resident_memory.h"

#include <malloc.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace modeld::platform {
namespace {

// The value of a "Key:   123 kB" line, in bytes; -1 when malformed.
int64_t KibField(std::string_view rest) {
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  int64_t kib = -1;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || end == rest.data()) return -1;
  return kib * 1024;
}

}  // namespace

ResidentMemory ParseResidentMemory(std::string_view status) {
  ResidentMemory m;
  while (!status.empty()) {
    const size_t nl = status.find('\n');
    const std::string_view line = status.substr(0, nl);
    status.remove_prefix(nl == std::string_view::npos ? status.size() : nl + 1);
    if (line.starts_with("RssAnon:")) m.anon = KibField(line.substr(8));
    if (line.starts_with("RssFile:")) m.file = KibField(line.substr(8));
  }
  return m;
}

ResidentMemory ReadResidentMemory() {
  std::ifstream in("/proc/self/status");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseResidentMemory(text.str());
}

int64_t HeapInUseBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

}  // namespace modeld::platform
