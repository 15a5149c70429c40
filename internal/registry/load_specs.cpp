#include "internal/registry/load_specs.h"

#include <utility>

#include "internal/llm/pooling.h"

namespace modeld::registry {

std::vector<llm::LoadSpec> LoadSpecs(const Registry& reg) {
  std::vector<llm::LoadSpec> specs;
  specs.reserve(reg.models().size());
  for (const auto& m : reg.models()) {
    llm::LoadSpec spec;
    spec.id = m.id;
    spec.path = m.path;
    spec.ctx_size = m.ctx_size;
    spec.threads = m.threads;
    spec.n_gpu_layers = m.n_gpu_layers;
    spec.parallel = m.parallel;
    spec.chat_template = m.chat_template;
    spec.repack = m.repack;
    spec.special_in_content = m.special_in_content;
    // Validated by the registry; empty stays kDefault (the GGUF decides).
    llm::ParsePooling(m.pooling, &spec.pooling);
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace modeld::registry
