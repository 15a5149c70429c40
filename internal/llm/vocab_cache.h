#pragma once

#include <llama.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include "internal/sync/mutex.h"

#include "internal/llm/adapter.h"
#include "internal/llm/prompt_builder.h"
#include "internal/llm/standby_pool.h"

namespace modeld::llm {

// Vocabulary-only copies of registry models (llama.cpp's vocab_only load:
// metadata and tokenizer, no tensors), so a request can be checked against
// a model that is not loaded: its prompt tokenized and measured against the
// context before a switch cancels anyone's work. The most recently used
// kMaxEntries are kept.
// Thread-safety: all methods are safe to call from any thread (mu_).
class VocabCache {
 public:
  static constexpr size_t kMaxEntries = 4;

  // The errors Model::Prepare would give for `params` on the model `spec`
  // names: invalid fields, a template error, a prompt longer than the
  // context. Ok when it cannot tell (the file cannot be read: the load will
  // say why).
  Status Precheck(const LoadSpec& spec, const WeightsKey& file, const GenerateParams& params);

 private:
  struct ModelDeleter {
    void operator()(llama_model* m) const { llama_model_free(m); }
  };
  struct Entry {
    std::string id;
    WeightsKey file;
    std::string chat_template;
    bool special_in_content = false;
    std::unique_ptr<llama_model, ModelDeleter> vocab;
    std::unique_ptr<PromptBuilder> prompts;
    int n_ctx_train = 0;
  };
  // The entry for `spec`, loaded or refreshed as needed; null when the
  // vocabulary cannot be read.
  Entry* FindLocked(const LoadSpec& spec, const WeightsKey& file) REQUIRES(mu_);

  sync::Mutex mu_;
  std::list<Entry> entries_ GUARDED_BY(mu_);  // most recently used first
};

}  // namespace modeld::llm
