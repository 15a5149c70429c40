#pragma once

// The registry's entries as the manager's catalog: one llm::LoadSpec each.

#include <vector>

#include "internal/llm/adapter.h"
#include "internal/registry/registry.h"

namespace modeld::registry {

// Every entry, in file order, with the fields a load needs.
std::vector<llm::LoadSpec> LoadSpecs(const Registry& reg);

}  // namespace modeld::registry
