#include "internal/platform/huge_pages.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "internal/platform/glibc_tunables.h"

namespace modeld::platform {
namespace {

constexpr std::string_view kTunable = "glibc.malloc.hugetlb";
constexpr const char* kMarker = "MODELD_HUGEPAGES_REEXEC";

const char* EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

}  // namespace

std::string HugePageTunables(std::string_view current, std::string_view opt_out) {
  if (opt_out == "0" || opt_out == "off" || opt_out == "false") return "";
  // The user's own hugetlb choice wins (0 turns it off, 2 asks for hugetlbfs).
  if (TunableIsSet(current, kTunable)) return "";
  std::string out(current);
  if (!out.empty()) out += ':';
  out += kTunable;
  out += "=1";
  return out;
}

void ReexecWithHugePages(char** argv, std::string* why) {
  if (std::getenv(kMarker) != nullptr) {
    *why = "active";
    return;
  }
  const std::string tunables =
      HugePageTunables(EnvOr("GLIBC_TUNABLES", ""), EnvOr("MODELD_HUGEPAGES", ""));
  if (tunables.empty()) {
    *why = "left to GLIBC_TUNABLES or MODELD_HUGEPAGES";
    return;
  }
  ::setenv("GLIBC_TUNABLES", tunables.c_str(), 1);
  ::setenv(kMarker, "1", 1);
  ::execv("/proc/self/exe", argv);
  // Still here: run without it rather than not at all.
  *why = std::string("re-exec failed: ") + std::strerror(errno);
  ::unsetenv(kMarker);
}

std::string TransparentHugePageMode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return "unknown";
  const size_t open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

long long AnonHugePageBytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("AnonHugePages:", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    long long kib = -1;
    fields >> kib;
    return kib < 0 ? -1 : kib * 1024;
  }
  return -1;
}

}  // namespace modeld::platform
