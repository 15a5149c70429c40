// Fuzz target: a models.yaml text through Registry::Parse (yaml-cpp plus the
// schema checks). Errors must be values, never exceptions or crashes; a
// registry that parses must satisfy what the rest of modeld relies on.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "internal/registry/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  using modeld::registry::Registry;
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // An absolute folder that does not exist: relative paths resolve without
  // touching the working directory, and no model file is found.
  auto reg = Registry::Parse(yaml, "fuzz.yaml", "/nonexistent-modeld-fuzz");
  if (!reg.ok()) {
    Check(reg.status().message().starts_with("fuzz.yaml"), "errors name the file");
    return 0;
  }
  Check(!reg->models().empty(), "at least one model");
  std::set<std::string, std::less<>> ids;
  for (const auto& m : reg->models()) {
    Check(!m.id.empty() && ids.insert(m.id).second, "ids are non-empty and unique");
    Check(reg->Find(m.id) == &m, "Find returns the entry");
    Check(m.path.starts_with('/'), "paths are absolute");
    Check(m.ctx_size > 0 && m.parallel >= 1 && m.parallel <= modeld::registry::kMaxParallel,
          "ctx_size and parallel in range");
  }
  Check(reg->default_model().empty() || reg->Find(reg->default_model()) != nullptr,
        "default_model is a model");
  Check(reg->max_queue() >= 1 && reg->max_body_bytes() >= 1, "limits are positive");
  return 0;
}
