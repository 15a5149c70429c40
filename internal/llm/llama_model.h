#pragma once

#include <ggml-cpu.h>
#include <llama.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/host_prompt_cache.h"
#include "internal/llm/llama_embed.h"
#include "internal/llm/prompt_builder.h"
#include "internal/llm/sequence.h"
#include "internal/llm/standby_pool.h"

namespace modeld::llm {

// A loaded llama.cpp model with its one context (created by LlamaBackend),
// and the batch engine that runs up to `parallel` sequences in it: each Step
// builds one llama_batch from every generating sequence's next token plus
// prompt chunks of the prefilling ones, decodes it once, and lets each
// sequence sample from its own logits. Which requests run is the manager's
// decision, not this class's.
// Frees the context, then the model, when destroyed.
// Thread-safety: not thread-safe; one caller at a time (the manager's worker).
class LlamaModel : public Model {
 public:
  struct ModelDeleter {
    void operator()(llama_model* m) const { llama_model_free(m); }
  };
  struct ContextDeleter {
    void operator()(llama_context* c) const { llama_free(c); }
  };
  // Shared so the weights can outlive this object in the standby pool.
  using ModelHandle = std::shared_ptr<llama_model>;
  using Standby = StandbyPool<llama_model>;
  using ContextHandle = std::unique_ptr<llama_context, ContextDeleter>;
  struct ThreadpoolDeleter {
    void operator()(ggml_threadpool* t) const { ggml_threadpool_free(t); }
  };
  // Shared: the backend keeps one pool per thread count for every model it
  // loads, so a switch does not start and join compute threads.
  using ThreadpoolHandle = std::shared_ptr<ggml_threadpool>;
  // Where the model's state goes when it is freed. All optional.
  struct Homes {
    // Kept caches are saved here, under `identity`, and taken back on demand.
    std::shared_ptr<HostPromptCache> host_cache;
    ModelIdentity identity;
    // Compute threads for the context; when null the model makes its own.
    ThreadpoolHandle threadpool;
    // The weights go here (kept loaded) when the pool has room for them.
    std::shared_ptr<Standby> standby;
    WeightsKey weights_key;
    uint64_t weights_bytes = 0;
  };

  // Prompt tokens decoded per step, over all prefilling sequences: the most a
  // long prompt delays the other sequences' next tokens (one ubatch).
  static constexpr int kPrefillChunk = 512;
  // Sequence ids after the generation slots, reserved for embeddings
  // requests (LlamaBackend adds them to the context's n_seq_max).
  static constexpr int kEmbedSequences = 4;
  // The shortest cached prefix worth reusing (a lone BOS is not).
  static constexpr int kMinReuse = 2;

  // Persistent compute threads for contexts of `threads` threads; null when
  // ggml cannot make them.
  static ThreadpoolHandle NewThreadpool(int threads);

  // Takes ownership of `model` and of `ctx`, a context made from it. When
  // freed, it saves its sequences' kept caches and its weights into `homes`.
  LlamaModel(LoadSpec spec, ModelHandle model, ContextHandle ctx, Homes homes);
  ~LlamaModel() override;
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  Status Warmup(const std::atomic<bool>& cancel) override;
  int max_sequences() const override { return static_cast<int>(seqs_.size()); }
  int n_ctx() const override { return n_ctx_; }
  int used_cells() const override;
  Result<PreparedPrompt> Prepare(const GenerateParams& params) override;
  void Start(int handle, PreparedPrompt prompt, const GenerateParams& params, TextSink& sink,
             const std::atomic<bool>& cancel, GenerateStats& stats) override;
  void Step(std::vector<SeqEnd>& ended) override;
  bool busy() const override;
  int64_t preemptions() const override { return preemptions_; }
  // What an embeddings request pools with on this model (resolved).
  Pooling pooling() const { return embedder_.pooling(); }

 private:
  struct BatchDeleter {
    void operator()(llama_batch* b) const {
      llama_batch_free(*b);
      delete b;
    }
  };

  // Adds the step's tokens to batch_; returns how many.
  int BuildBatch();
  // Frees the cells of a finished sequence's kept cache (least recently
  // used first), else of the most recently started running sequence; false
  // when none holds any.
  bool PreemptYoungest(int* n_gen);
  // Drops the least recently used kept cache; false when there is none.
  bool EvictIdleCache();
  // The idle sequence with the least kept, least recently used.
  int EmptiestIdle() const;
  // Restores the host cache's best entry for `tokens` into an idle sequence
  // when it shares more than `better_than` tokens; -1 when none was
  // restored (nothing suitable, no room, or llama.cpp refused the state).
  int RestoreFromHost(const std::vector<llama_token>& tokens, int better_than, int* match);
  // Saves every kept cache into the host cache (when the model is freed).
  void SaveToHost();
  void AddToBatch(llama_token token, int pos, int seq, bool logits);
  // Runs an embeddings request at once, in the reserved sequences (the next
  // Step reports its end): it holds no cells across steps.
  void StartEmbedding(int handle, const PreparedPrompt& prompt, const std::atomic<bool>& cancel,
                      GenerateStats& stats);
  // Ends sequence `seq` with its status and frees its cells.
  void End(int seq, std::vector<SeqEnd>& ended);
  void ClearMemory();

  // llama.cpp's compute threads poll this between graph nodes: true when
  // every sequence in the running decode has been cancelled.
  static bool AbortRequested(void* data);

  // Constant after construction.
  const LoadSpec spec_;
  ModelHandle model_;  // declared before ctx_, so the context is freed first
  // Persistent compute threads, as llama-server and llama-bench use: without
  // one, ggml starts and joins its workers on every llama_decode, which costs
  // more than a whole decode step of a small model. Freed after ctx_.
  ThreadpoolHandle threadpool_;
  ContextHandle ctx_;
  const Homes homes_;
  const PromptBuilder prompts_;
  const llama_vocab* vocab_;
  int n_ctx_;
  int n_batch_;

  // The engine's state, touched only by the caller's thread.
  std::vector<Sequence> seqs_;
  std::unique_ptr<llama_batch, BatchDeleter> batch_;
  std::vector<int> batch_seq_;      // per batch index: the sequence it belongs to
  std::vector<int> prefill_take_;   // per sequence: prompt tokens in this batch
  std::vector<int> prefill_order_;  // prefilling sequences, oldest first
  uint64_t started_ = 0;            // Start calls so far (fair prefill order)
  int64_t preemptions_ = 0;
  std::vector<const std::atomic<bool>*> decode_cancels_;  // the decode's sequences
  // How many of decode_cancels_ the running decode covers; 0 between decodes.
  // Published with release before llama_decode, read by AbortRequested.
  std::atomic<int> n_decode_cancels_{0};
  std::atomic<bool> aborting_{false};  // AbortRequested said yes (quiets llama.cpp's log)
  LlamaEmbedder embedder_;
  std::vector<SeqEnd> embed_ends_;  // finished embeddings requests, reported by the next Step
  std::vector<int> embed_seqs_;     // the sequence ids reserved for embeddings requests
};

}  // namespace modeld::llm
