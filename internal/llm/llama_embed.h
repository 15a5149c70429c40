#pragma once

#include <llama.h>

#include <memory>
#include <span>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/pooling.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// The GGUF's `<arch>.pooling_type` of `model`; -1 when absent.
int GgufPoolingType(const llama_model* model);

// Computes embeddings in a context made for generation (pooling NONE): for
// the duration of one request it turns the context's output embeddings on,
// decodes the inputs (every token an output), pools each input's per-token
// hidden states itself (EmbeddingPool) and turns them off again. Short
// inputs are packed into one decode, each in its own free sequence, as
// llama-server batches its slots; an input longer than a chunk is decoded
// alone, chunk after chunk (causal attention keeps that equal to one
// decode). Attention stays the model's own, as in llama.cpp with pooling
// set on the context, so the vectors match llama.cpp's.
// Thread-safety: not thread-safe; used by its LlamaModel's caller only.
class LlamaEmbedder {
 public:
  // `ctx` outlives this object; `pooling` is resolved; `chunk` is the most
  // tokens per decode (at most the context's n_batch).
  LlamaEmbedder(llama_context* ctx, Pooling pooling, int chunk);
  LlamaEmbedder(const LlamaEmbedder&) = delete;
  LlamaEmbedder& operator=(const LlamaEmbedder&) = delete;

  Pooling pooling() const { return pooling_; }

  // Embeds every input of `prompt` (from PrepareEmbedding) using the
  // sequences `seqs` (at least one; their cells must be free, and stay free
  // afterwards). Fills stats.embeddings, n_embd, prompt_tokens and
  // prompt_ms. A decode the abort callback stopped is Cancelled.
  Status Run(const PreparedPrompt& prompt, std::span<const int> seqs, GenerateStats& stats);

 private:
  struct BatchDeleter {
    void operator()(llama_batch* b) const {
      llama_batch_free(*b);
      delete b;
    }
  };
  // One input placed in the batch: its index, first token and length.
  struct Packed {
    int input = 0;
    int begin = 0;
    int length = 0;
    int seq = 0;
  };

  Status RunAll(const PreparedPrompt& prompt, std::span<const int> seqs, GenerateStats& stats);
  // Decodes `packed_` (several whole inputs) and pools each.
  Status DecodePacked(GenerateStats& stats);
  // Decodes input `input` alone in `seq`, chunk after chunk, and pools it.
  Status DecodeLong(const PreparedPrompt& prompt, int input, int seq, GenerateStats& stats);
  void Add(llama_token token, int pos, int seq);
  Status Decode();
  // Adds batch rows [first, first+n) to pool_.
  Status PoolRows(int first, int n);

  // Constant after construction.
  llama_context* const ctx_;
  const Pooling pooling_;
  const int chunk_;
  const int n_embd_;

  std::unique_ptr<llama_batch, BatchDeleter> batch_;
  std::vector<Packed> packed_;
  EmbeddingPool pool_;
};

}  // namespace modeld::llm
