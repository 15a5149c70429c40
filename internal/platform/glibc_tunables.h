#pragma once

// Reading GLIBC_TUNABLES, whose value is name=value pairs joined by ':'.

#include <string_view>

namespace modeld::platform {

// True when `tunables` sets `name` (the whole name, followed by '=').
inline bool TunableIsSet(std::string_view tunables, std::string_view name) {
  size_t pos = 0;
  while ((pos = tunables.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || tunables[pos - 1] == ':';
    const size_t end = pos + name.size();
    if (starts && end < tunables.size() && tunables[end] == '=') return true;
    pos = end;
  }
  return false;
}

}  // namespace modeld::platform
