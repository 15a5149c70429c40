#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::httpapi {

// What clients see of filesystem paths. By default, none: absolute paths in
// messages meant for clients (a failed load, /readyz) become the file's
// name, and /models leaves out `path`. Logs keep the full paths.
// --expose-paths turns this off. Immutable after construction, so safe to
// use from any thread.
class ClientPaths {
 public:
  // Redacts without knowing any path: absolute-looking words only.
  ClientPaths() = default;
  // `known` are the registry's model paths: replaced exactly even when they
  // contain spaces.
  ClientPaths(std::vector<std::string> known, bool expose);

  bool expose() const { return expose_; }

  // `message` with every absolute path replaced by its last component
  // ("/srv/models/tiny.gguf" -> "tiny.gguf"); unchanged with expose().
  std::string Redact(std::string_view message) const;
  Status Redact(const Status& status) const;

 private:
  std::vector<std::string> known_;  // longest first
  bool expose_ = false;
};

}  // namespace modeld::httpapi
