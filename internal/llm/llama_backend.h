#pragma once

#include <mutex>

#include "internal/llm/adapter.h"

namespace modeld::llm {

// Loads GGUF models with llama.cpp (CPU, mmap) into LlamaModel instances.
// Thread-safety: thread-safe; concurrent Load calls run one at a time.
class LlamaBackend : public Backend {
 public:
  // Initializes llama.cpp once per process and routes its log into modeld's.
  // `default_threads` is used when a LoadSpec says 0; <= 0 means one thread
  // per hardware thread.
  static BackendPtr Create(int default_threads);

  // Fails with LoadFailed for a missing, unreadable or invalid file or a
  // context that cannot be created, with Cancelled when control.abort is set
  // while the weights load.
  Result<ModelPtr> Load(const LoadSpec& spec, LoadControl& control) override;

 private:
  explicit LlamaBackend(int default_threads) : default_threads_(default_threads) {}

  const int default_threads_;  // constant after construction
  std::mutex load_mu_;         // held for a whole Load
};

}  // namespace modeld::llm
