#include "internal/llm/llama_model.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "internal/llm/embed_prompt.h"
#include "internal/llm/llama_log.h"
#include "internal/llm/llama_prompt.h"
#include "internal/llm/utf8_stream.h"

namespace modeld::llm {
namespace {

Status DecodeError(int32_t rc, const std::string& id) {
  if (rc == 1) {
    return Status::Internal("no KV cache slot for the batch of model '" + id + "'");
  }
  return Status::Internal("llama_decode failed with code " + std::to_string(rc) + " for model '" +
                          id + "'");
}

// The context's sequences minus those reserved for embeddings (none are
// reserved in a context too small to hold them).
size_t GenerationSequences(uint32_t n_seq_max) {
  const auto reserved = static_cast<uint32_t>(LlamaModel::kEmbedSequences);
  return std::max<uint32_t>(1, n_seq_max > reserved ? n_seq_max - reserved : n_seq_max);
}

}  // namespace

LlamaModel::ThreadpoolHandle LlamaModel::NewThreadpool(int threads) {
  ggml_threadpool_params tp = ggml_threadpool_params_default(threads);
  return ThreadpoolHandle(ggml_threadpool_new(&tp), ThreadpoolDeleter{});
}

LlamaModel::LlamaModel(LoadSpec spec, ModelHandle model, ContextHandle ctx, Homes homes)
    : spec_(std::move(spec)),
      model_(std::move(model)),
      ctx_(std::move(ctx)),
      homes_(std::move(homes)),
      prompts_(model_.get(), spec_.chat_template, spec_.special_in_content, spec_.id),
      vocab_(llama_model_get_vocab(model_.get())),
      n_ctx_(static_cast<int>(llama_n_ctx(ctx_.get()))),
      n_batch_(static_cast<int>(llama_n_batch(ctx_.get()))),
      seqs_(GenerationSequences(llama_n_seq_max(ctx_.get()))),
      embedder_(ctx_.get(), ResolvePooling(spec_.pooling, GgufPoolingType(model_.get())),
                std::min(n_batch_, kPrefillChunk)) {
  llama_set_abort_callback(ctx_.get(), &LlamaModel::AbortRequested, this);
  threadpool_ = homes_.threadpool;
  if (!threadpool_) threadpool_ = NewThreadpool(llama_n_threads(ctx_.get()));
  // Without a pool (allocation failure) llama.cpp falls back to per-call threads.
  if (threadpool_) llama_attach_threadpool(ctx_.get(), threadpool_.get(), threadpool_.get());
  batch_.reset(new llama_batch(llama_batch_init(n_batch_, 0, 1)));
  batch_seq_.resize(static_cast<size_t>(n_batch_));
  prefill_take_.resize(seqs_.size());
  prefill_order_.reserve(seqs_.size());
  decode_cancels_.resize(seqs_.size());
  for (uint32_t s = static_cast<uint32_t>(seqs_.size()); s < llama_n_seq_max(ctx_.get()); ++s) {
    embed_seqs_.push_back(static_cast<int>(s));
  }
  // The file may have changed.
  if (homes_.host_cache) homes_.host_cache->InvalidateStale(homes_.identity);
}

LlamaModel::~LlamaModel() {
  SaveToHost();
  // The context (KV cache, compute buffers) and everything that points into
  // the model go first, in every case.
  seqs_.clear();
  ctx_.reset();
  threadpool_.reset();
  if (homes_.standby) {
    homes_.standby->Put(homes_.weights_key, spec_.id, std::move(model_), homes_.weights_bytes);
  }
}

void LlamaModel::SaveToHost() {
  if (!homes_.host_cache || homes_.host_cache->budget() == 0) return;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    const Sequence& q = seqs_[s];
    if (q.active() || q.n_past() == 0) continue;
    const auto seq = static_cast<llama_seq_id>(s);
    CachedPrompt entry;
    entry.model = homes_.identity;
    entry.tokens.assign(q.prompt().begin(), q.prompt().begin() + q.n_past());
    entry.state.resize(llama_state_seq_get_size(ctx_.get(), seq));
    if (entry.state.empty() || entry.bytes() > homes_.host_cache->budget()) continue;
    const size_t n =
        llama_state_seq_get_data(ctx_.get(), entry.state.data(), entry.state.size(), seq);
    if (n == 0) continue;
    entry.state.resize(n);
    homes_.host_cache->Put(std::move(entry));
  }
}

int LlamaModel::EmptiestIdle() const {
  int best = -1;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    const Sequence& q = seqs_[s];
    if (q.active()) continue;
    const Sequence* b = best < 0 ? nullptr : &seqs_[static_cast<size_t>(best)];
    if (b == nullptr || q.n_past() < b->n_past() ||
        (q.n_past() == b->n_past() && q.last_used() < b->last_used())) {
      best = static_cast<int>(s);
    }
  }
  return best;
}

int LlamaModel::RestoreFromHost(const std::vector<llama_token>& tokens, int better_than,
                                int* match) {
  if (!homes_.host_cache) return -1;
  std::optional<CachedPrompt> entry = homes_.host_cache->TakeLongest(
      homes_.identity, tokens, std::max(kMinReuse, better_than + 1), match);
  if (!entry) return -1;
  const int need = static_cast<int>(entry->tokens.size());
  int target = EmptiestIdle();
  while (target >= 0 &&
         need > n_ctx_ - used_cells() + seqs_[static_cast<size_t>(target)].n_past() &&
         EvictIdleCache()) {
    target = EmptiestIdle();
  }
  const bool room =
      target >= 0 && need <= n_ctx_ - used_cells() + seqs_[static_cast<size_t>(target)].n_past();
  if (!room) {
    homes_.host_cache->Put(std::move(*entry));  // keep it for later
    return -1;
  }
  const auto seq = static_cast<llama_seq_id>(target);
  Sequence& q = seqs_[static_cast<size_t>(target)];
  llama_memory_seq_rm(llama_get_memory(ctx_.get()), seq, -1, -1);
  q.Evict();
  // A refused state is dropped; the request just prefills.
  if (llama_state_seq_set_data(ctx_.get(), entry->state.data(), entry->state.size(), seq) == 0) {
    llama_memory_seq_rm(llama_get_memory(ctx_.get()), seq, -1, -1);
    return -1;
  }
  q.Restored(entry->tokens);
  return target;
}

bool LlamaModel::AbortRequested(void* data) {
  auto* self = static_cast<LlamaModel*>(data);
  const int n = self->n_decode_cancels_.load(std::memory_order_acquire);
  if (n == 0) return false;
  for (int i = 0; i < n; ++i) {
    if (!self->decode_cancels_[static_cast<size_t>(i)]->load(std::memory_order_relaxed)) {
      return false;
    }
  }
  self->aborting_.store(true, std::memory_order_relaxed);
  return true;
}

// Marks every KV cell free; the data itself is overwritten by the next
// decode. Wiping it (data=true) would memset the whole cache, ~150 MB for
// `small` at n_ctx 4096.
void LlamaModel::ClearMemory() { llama_memory_clear(llama_get_memory(ctx_.get()), false); }

int LlamaModel::used_cells() const {
  int n = 0;
  for (const Sequence& s : seqs_) n += s.n_past();  // idle ones keep their cache
  return n;
}

bool LlamaModel::busy() const {
  if (!embed_ends_.empty()) return true;
  return std::any_of(seqs_.begin(), seqs_.end(), [](const Sequence& s) { return s.active(); });
}

Status LlamaModel::Warmup(const std::atomic<bool>& cancel) {
  // No early check of `cancel`: the decode's abort callback sees it.
  LlamaCancelQuiet quiet(cancel);
  ClearMemory();
  llama_token token = llama_vocab_bos(vocab_);
  if (token == LLAMA_TOKEN_NULL) token = llama_vocab_eos(vocab_);
  if (token == LLAMA_TOKEN_NULL) token = 0;
  decode_cancels_[0] = &cancel;
  n_decode_cancels_.store(1, std::memory_order_release);
  const int32_t rc = llama_decode(ctx_.get(), llama_batch_get_one(&token, 1));
  n_decode_cancels_.store(0, std::memory_order_release);
  ClearMemory();
  if (rc == 2) return Status::Cancelled("cancelled");
  return rc == 0 ? Status::Ok() : DecodeError(rc, spec_.id);
}

Result<PreparedPrompt> LlamaModel::Prepare(const GenerateParams& params) {
  if (params.embed.has_value()) return PrepareEmbedding(vocab_, *params.embed, n_ctx_);
  return prompts_.Prepare(params, n_ctx_);
}

void LlamaModel::StartEmbedding(int handle, const PreparedPrompt& prompt,
                                const std::atomic<bool>& cancel, GenerateStats& stats) {
  stats = GenerateStats{};
  if (cancel.load(std::memory_order_relaxed)) {
    embed_ends_.push_back({handle, Status::Cancelled("cancelled")});
    return;
  }
  // Room for the longest input, or for one packed chunk: kept caches go
  // first, then the youngest running sequences (recomputed later), exactly
  // as when a prompt needs cells. Otherwise kept caches stay: the inputs go
  // into the sequence ids reserved for them.
  const int chunk = std::min(n_batch_, kPrefillChunk);
  const int need = std::min(
      n_ctx_, std::max(prompt.cells, std::min(chunk, static_cast<int>(prompt.tokens.size()))));
  int n_gen = 0;
  while (need > n_ctx_ - used_cells() && PreemptYoungest(&n_gen)) {
  }
  if (embed_seqs_.empty()) {  // a context made without the reserved ids
    embed_ends_.push_back({handle, Status::Internal("no sequence for the embeddings")});
    return;
  }
  Status st;
  {
    LlamaCancelQuiet quiet(cancel);
    decode_cancels_[0] = &cancel;
    n_decode_cancels_.store(1, std::memory_order_release);
    st = embedder_.Run(prompt, embed_seqs_, stats);
    n_decode_cancels_.store(0, std::memory_order_release);
  }
  embed_ends_.push_back({handle, std::move(st)});
}

void LlamaModel::Start(int handle, PreparedPrompt prompt, const GenerateParams& params,
                       TextSink& sink, const std::atomic<bool>& cancel, GenerateStats& stats) {
  if (params.embed.has_value()) {
    StartEmbedding(handle, prompt, cancel, stats);
    return;
  }
  // The idle sequence whose kept cells share the longest prefix with the
  // prompt, as llama-server picks its slot; else the emptiest, least
  // recently used one. A shared BOS alone is not worth a slot.
  int best = -1, best_match = 0;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    if (seqs_[s].active()) continue;
    const int match = seqs_[s].CommonPrefix(prompt.tokens);
    if (match >= kMinReuse && match > best_match) {
      best = static_cast<int>(s);
      best_match = match;
    }
  }
  if (best < 0) best = EmptiestIdle();
  if (best < 0) return;  // the caller started more than max_sequences(): cannot happen
  // A longer prefix saved in host RAM (from before a switch) beats the context's.
  int host_match = 0;
  const int restored = RestoreFromHost(prompt.tokens, best_match, &host_match);
  if (restored >= 0) {
    best = restored;
    best_match = host_match;
  } else {
    // A failed attempt may have dropped caches, this one's among them.
    best_match = std::min(best_match, seqs_[static_cast<size_t>(best)].CommonPrefix(prompt.tokens));
  }
  // The last prompt token is decoded again even when all of it is cached:
  // its logits choose the first token.
  const int reused = std::max(0, std::min(best_match, static_cast<int>(prompt.tokens.size()) - 1));
  llama_memory_seq_rm(llama_get_memory(ctx_.get()), best, reused, -1);
  seqs_[static_cast<size_t>(best)].Start(vocab_, std::move(prompt), reused, params, sink, cancel,
                                         stats, spec_.deliver_interval, started_++, handle);
  stats.cache_from_host = restored >= 0 && reused > 0;
}

bool LlamaModel::EvictIdleCache() {
  int victim = -1;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    const Sequence& q = seqs_[s];
    if (q.active() || q.n_past() == 0) continue;
    if (victim < 0 || q.last_used() < seqs_[static_cast<size_t>(victim)].last_used()) {
      victim = static_cast<int>(s);
    }
  }
  if (victim < 0) return false;
  llama_memory_seq_rm(llama_get_memory(ctx_.get()), victim, -1, -1);
  seqs_[static_cast<size_t>(victim)].Evict();
  return true;
}

void LlamaModel::AddToBatch(llama_token token, int pos, int seq, bool logits) {
  llama_batch& b = *batch_;
  const int i = b.n_tokens++;
  b.token[i] = token;
  b.pos[i] = pos;
  b.n_seq_id[i] = 1;
  b.seq_id[i][0] = seq;
  b.logits[i] = logits ? 1 : 0;
  batch_seq_[static_cast<size_t>(i)] = seq;
}

bool LlamaModel::PreemptYoungest(int* n_gen) {
  if (EvictIdleCache()) return true;  // a kept cache goes before running work
  int victim = -1;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    const Sequence& q = seqs_[s];
    if (!q.active() || q.n_past() == 0) continue;
    if (victim < 0 || q.order() > seqs_[static_cast<size_t>(victim)].order()) {
      victim = static_cast<int>(s);
    }
  }
  if (victim < 0) return false;
  Sequence& q = seqs_[static_cast<size_t>(victim)];
  if (q.phase() == Sequence::Phase::kGenerate) --*n_gen;
  llama_memory_seq_rm(llama_get_memory(ctx_.get()), victim, -1, -1);
  q.Preempt();
  ++preemptions_;
  return true;
}

int LlamaModel::BuildBatch() {
  batch_->n_tokens = 0;
  // Every generating sequence needs one more cell. When the cache cannot
  // give them, the youngest sequence gives its cells back and is recomputed
  // later: the older ones always progress, and nothing fails.
  int n_gen = 0;
  for (const Sequence& q : seqs_) n_gen += q.phase() == Sequence::Phase::kGenerate ? 1 : 0;
  while (n_gen > n_ctx_ - used_cells() && PreemptYoungest(&n_gen)) {
  }
  for (size_t s = 0; s < seqs_.size(); ++s) {
    prefill_take_[s] = 0;
    Sequence& q = seqs_[s];
    if (q.phase() != Sequence::Phase::kGenerate) continue;
    AddToBatch(q.next_token(), q.n_past(), static_cast<int>(s), true);
  }
  // Prompt chunks fill the rest, oldest request first, at most kPrefillChunk
  // per step. A prompt starts only when all of it fits beside the generating
  // sequences' growth meanwhile, so its prefill is not thrown away half done.
  prefill_order_.clear();
  for (size_t s = 0; s < seqs_.size(); ++s) {
    if (seqs_[s].phase() == Sequence::Phase::kPrefill)
      prefill_order_.push_back(static_cast<int>(s));
  }
  std::sort(prefill_order_.begin(), prefill_order_.end(),
            [this](int a, int b) { return seqs_[a].order() < seqs_[b].order(); });
  int free_cells = n_ctx_ - used_cells() - n_gen;
  int budget = std::min(kPrefillChunk, n_batch_ - batch_->n_tokens);
  for (int s : prefill_order_) {
    if (budget <= 0) break;
    Sequence& q = seqs_[static_cast<size_t>(s)];
    const int remaining = q.remaining_prompt();
    const int steps_left = (remaining + kPrefillChunk - 1) / kPrefillChunk;
    while (remaining + n_gen * steps_left > free_cells && EvictIdleCache()) {
      free_cells = n_ctx_ - used_cells() - n_gen;
    }
    if (remaining + n_gen * steps_left > free_cells) break;  // waits, in order
    const int take = std::min(budget, remaining);
    const bool completes = take == remaining;
    for (int j = 0; j < take; ++j) {
      const int pos = q.prefilled() + j;
      AddToBatch(q.prompt()[static_cast<size_t>(pos)], pos, s, completes && j == take - 1);
    }
    prefill_take_[static_cast<size_t>(s)] = take;
    budget -= take;
    free_cells -= remaining;
  }
  return batch_->n_tokens;
}

void LlamaModel::End(int seq, std::vector<SeqEnd>& ended) {
  Sequence& q = seqs_[static_cast<size_t>(seq)];
  // The cells stay (the next request may start with these tokens) unless
  // the decode failed, when their contents are unknown.
  if (!q.status().ok() && q.status().code() != Code::kCancelled) {
    llama_memory_seq_rm(llama_get_memory(ctx_.get()), seq, -1, -1);
    q.Evict();
  }
  ended.push_back({q.handle(), q.status()});
  q.Reset();
}

void LlamaModel::Step(std::vector<SeqEnd>& ended) {
  // Embeddings requests ran in Start; their ends are reported here.
  for (SeqEnd& e : embed_ends_) ended.push_back(std::move(e));
  embed_ends_.clear();
  // Cancelled sequences leave before the decode, so they cost nothing more.
  for (size_t s = 0; s < seqs_.size(); ++s) {
    Sequence& q = seqs_[s];
    if (!q.active() || !q.cancelled()) continue;
    q.Fail(Status::Cancelled("cancelled"));
    End(static_cast<int>(s), ended);
  }
  const int n_tokens = BuildBatch();
  if (n_tokens == 0) return;

  int n_cancels = 0;
  for (size_t s = 0; s < seqs_.size(); ++s) {
    const Sequence& q = seqs_[s];
    if (q.phase() == Sequence::Phase::kGenerate || prefill_take_[s] > 0) {
      decode_cancels_[static_cast<size_t>(n_cancels++)] = q.cancel_flag();
    }
  }
  int32_t rc = 0;
  {
    // An abort makes llama.cpp log "errors" that are only its expected result.
    aborting_.store(false, std::memory_order_relaxed);
    LlamaCancelQuiet quiet(aborting_);
    n_decode_cancels_.store(n_cancels, std::memory_order_release);
    rc = llama_decode(ctx_.get(), *batch_);
    n_decode_cancels_.store(0, std::memory_order_release);
  }
  if (rc != 0) {
    // Aborted (every sequence in it was cancelled) or failed: all of the
    // batch's sequences end; a failure is the engine's, reported to each.
    const Status failure = rc == 2 ? Status::Cancelled("cancelled") : DecodeError(rc, spec_.id);
    for (size_t s = 0; s < seqs_.size(); ++s) {
      Sequence& q = seqs_[s];
      if (q.phase() != Sequence::Phase::kGenerate && prefill_take_[s] == 0) continue;
      // Whatever this batch wrote for the sequence is not part of its cache.
      llama_memory_seq_rm(llama_get_memory(ctx_.get()), static_cast<llama_seq_id>(s), q.n_past(),
                          -1);
      q.Fail(failure);
      End(static_cast<int>(s), ended);
    }
    return;
  }
  for (size_t s = 0; s < seqs_.size(); ++s) {
    Sequence& q = seqs_[s];
    if (q.phase() == Sequence::Phase::kGenerate) {
      q.Decoded();
    } else if (prefill_take_[s] > 0) {
      q.Prefilled(prefill_take_[s]);
    }
  }
  for (int i = 0; i < n_tokens; ++i) {
    if (batch_->logits[i] == 0) continue;
    const int s = batch_seq_[static_cast<size_t>(i)];
    if (seqs_[static_cast<size_t>(s)].OnLogits(ctx_.get(), i)) End(s, ended);
  }
}

}  // namespace modeld::llm
