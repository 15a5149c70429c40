#pragma once

// Where the registry comes from: a YAML file, --models-dir folders, or
// both. Loading merges them (the YAML wins an id conflict); checking lists
// every problem for --check-config.

#include <memory>
#include <string>
#include <vector>

#include "internal/registry/model_dirs.h"
#include "internal/registry/registry.h"
#include "pkg/types/status.h"

namespace modeld::registry {

// Immutable after construction; Load and Check may run on any thread.
struct ConfigSource {
  std::string config;                   // the YAML file; empty: none (folders only)
  std::vector<std::string> model_dirs;  // --models-dir, in order
  GgufReader read_gguf;                 // llm::ReadGgufInfo in the product
};

struct LoadedRegistry {
  std::shared_ptr<const Registry> registry;
  // Files of the folders left out, and folder ids the YAML shadows: logged
  // as warnings, not errors, so one bad file never blocks a reload.
  std::vector<std::string> warnings;
};

// The merged registry, or the first error (a YAML problem "file:line: ...",
// a folder that cannot be listed, no model at all).
Result<LoadedRegistry> LoadRegistry(const ConfigSource& source);

// Every problem, empty when the registry is fine: all YAML problems, model
// files that are missing or not valid GGUF (headers only are read), folder
// files left out, and no model at all.
std::vector<std::string> CheckRegistry(const ConfigSource& source);

}  // namespace modeld::registry
