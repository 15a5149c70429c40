#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>
#include "internal/sync/mutex.h"

#include "internal/llm/adapter.h"
#include "internal/llm/host_prompt_cache.h"
#include "internal/llm/llama_model.h"
#include "internal/llm/standby_pool.h"
#include "internal/llm/vocab_cache.h"

namespace modeld::llm {

// Loads GGUF models with llama.cpp (CPU, mmap) into LlamaModel instances.
// Thread-safety: thread-safe; concurrent Load calls run one at a time.
class LlamaBackend : public Backend {
 public:
  // Initializes llama.cpp once per process and routes its log into modeld's.
  // `default_threads` is used when a LoadSpec says 0; <= 0 means one thread
  // per hardware thread. `prompt_cache_bytes` is the budget of the host-RAM
  // prompt cache that keeps KV caches across model switches (0: none);
  // `standby_bytes` the budget for weights of switched-out models kept
  // loaded (0: freed at once).
  static BackendPtr Create(int default_threads, uint64_t prompt_cache_bytes = 0,
                           uint64_t standby_bytes = 0);

  // Fails with LoadFailed for a missing, unreadable or invalid file or a
  // context that cannot be created, with Cancelled when control.abort is set
  // while the weights load. Weights kept in standby for the same file,
  // unchanged, are used instead of reading it; when the context cannot be
  // created next to them, standby is emptied and the file read after all.
  Result<ModelPtr> Load(const LoadSpec& spec, LoadControl& control) override;
  uint64_t prompt_cache_bytes() const override { return host_cache_->bytes(); }
  Status Precheck(const LoadSpec& spec, const GenerateParams& params) override;
  void ReleaseFreeMemory() override;
  std::vector<StandbyModel> standby() const override;
  uint64_t standby_bytes() const override { return standby_->bytes(); }
  void DropStandby(const std::string& id) override { standby_->EraseId(id); }

 private:
  LlamaBackend(int default_threads, uint64_t prompt_cache_bytes, uint64_t standby_bytes)
      : default_threads_(default_threads),
        host_cache_(std::make_shared<HostPromptCache>(prompt_cache_bytes)),
        standby_(std::make_shared<LlamaModel::Standby>(standby_bytes)) {}

  struct Weights {
    LlamaModel::ModelHandle model;
    uint64_t bytes = 0;  // resident memory they hold, as standby counts it
  };
  Result<Weights> LoadWeights(const LoadSpec& spec, LoadControl& control);
  Result<LlamaModel::ContextHandle> CreateContext(const LoadSpec& spec, llama_model* model,
                                                  LoadControl& control) const;

  const int default_threads_;  // constant after construction
  // Shared with the models, which save into it when they are freed.
  const std::shared_ptr<HostPromptCache> host_cache_;
  // Shared with the models, which put their weights here when they are freed.
  const std::shared_ptr<LlamaModel::Standby> standby_;
  VocabCache vocabs_;                 // for Precheck; thread-safe on its own
  std::atomic<int64_t> releases_{0};  // ReleaseFreeMemory calls, for its log line
  sync::Mutex load_mu_;               // held for a whole Load
  // Compute threads by thread count, made once and shared by every model
  // (one context at a time uses them).
  std::map<int, LlamaModel::ThreadpoolHandle> threadpools_ GUARDED_BY(load_mu_);
};

}  // namespace modeld::llm
