#pragma once

// Writes a generated model as a llama-architecture GGUF file that llama.cpp
// loads: metadata first, then each tensor generated, converted and appended
// one at a time, so memory stays at about one f32 tensor.

#include <cstdint>
#include <string>

#include "cmd/modeld-mkmodel/weights.h"
#include "pkg/types/status.h"

namespace modeld::mkmodel {

struct WriteSummary {
  uint64_t params = 0;
  uint64_t bytes = 0;  // the file size
  int n_tensors = 0;
};

// Writes spec to path (replacing it). threads <= 0 means one per core; the
// file is identical for any thread count. On failure the partial file is
// removed. Not safe to call concurrently for the same path.
Result<WriteSummary> WriteModel(const ModelSpec& spec, const std::string& path, int threads = 0);

}  // namespace modeld::mkmodel
