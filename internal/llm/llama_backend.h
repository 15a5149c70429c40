#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "internal/llm/adapter.h"
#include "internal/llm/host_prompt_cache.h"

namespace modeld::llm {

// Loads GGUF models with llama.cpp (CPU, mmap) into LlamaModel instances.
// Thread-safety: thread-safe; concurrent Load calls run one at a time.
class LlamaBackend : public Backend {
 public:
  // Initializes llama.cpp once per process and routes its log into modeld's.
  // `default_threads` is used when a LoadSpec says 0; <= 0 means one thread
  // per hardware thread. `prompt_cache_bytes` is the budget of the host-RAM
  // prompt cache that keeps KV caches across model switches (0: none).
  static BackendPtr Create(int default_threads, uint64_t prompt_cache_bytes = 0);

  // Fails with LoadFailed for a missing, unreadable or invalid file or a
  // context that cannot be created, with Cancelled when control.abort is set
  // while the weights load.
  Result<ModelPtr> Load(const LoadSpec& spec, LoadControl& control) override;
  uint64_t prompt_cache_bytes() const override { return host_cache_->bytes(); }

 private:
  LlamaBackend(int default_threads, uint64_t prompt_cache_bytes)
      : default_threads_(default_threads),
        host_cache_(std::make_shared<HostPromptCache>(prompt_cache_bytes)) {}

  const int default_threads_;  // constant after construction
  // Shared with the models, which save into it when they are freed.
  const std::shared_ptr<HostPromptCache> host_cache_;
  std::mutex load_mu_;  // held for a whole Load
};

}  // namespace modeld::llm
