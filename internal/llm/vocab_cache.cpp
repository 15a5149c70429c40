#include "internal/llm/vocab_cache.h"

#include "internal/llm/embed_prompt.h"

namespace modeld::llm {

VocabCache::Entry* VocabCache::FindLocked(const LoadSpec& spec, const WeightsKey& file) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->id != spec.id) continue;
    if (it->file.path == file.path && it->file.device == file.device &&
        it->file.inode == file.inode && it->file.size == file.size &&
        it->file.mtime_ns == file.mtime_ns && it->chat_template == spec.chat_template &&
        it->special_in_content == spec.special_in_content) {
      entries_.splice(entries_.begin(), entries_, it);
      return &entries_.front();
    }
    entries_.erase(it);  // stale: the file or the template changed
    break;
  }
  llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  mp.load_mode = LLAMA_LOAD_MODE_NONE;
  Entry e;
  e.vocab.reset(llama_model_load_from_file(spec.path.c_str(), mp));
  if (e.vocab == nullptr) return nullptr;
  e.id = spec.id;
  e.file = file;
  e.chat_template = spec.chat_template;
  e.special_in_content = spec.special_in_content;
  e.prompts = std::make_unique<PromptBuilder>(e.vocab.get(), spec.chat_template,
                                              spec.special_in_content, spec.id);
  e.n_ctx_train = llama_model_n_ctx_train(e.vocab.get());
  entries_.push_front(std::move(e));
  if (entries_.size() > kMaxEntries) entries_.pop_back();
  return &entries_.front();
}

Status VocabCache::Precheck(const LoadSpec& spec, const WeightsKey& file,
                            const GenerateParams& params) {
  sync::MutexLock lock(mu_);
  const Entry* e = FindLocked(spec, file);
  // The context LlamaBackend::Load would create.
  const int n_ctx = spec.ctx_size > 0 ? spec.ctx_size : e == nullptr ? 0 : e->n_ctx_train;
  if (e == nullptr || n_ctx <= 0) return Status::Ok();
  Result<PreparedPrompt> prepared =
      params.embed.has_value()
          ? PrepareEmbedding(llama_model_get_vocab(e->vocab.get()), *params.embed, n_ctx)
          : e->prompts->Prepare(params, n_ctx);
  return prepared.ok() ? Status::Ok() : prepared.status();
}

}  // namespace modeld::llm
