#include "internal/llm/llama_embed.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

namespace modeld::llm {
namespace {

int InputBegin(const PreparedPrompt& p, int i) {
  return i == 0 ? 0 : p.input_ends[static_cast<size_t>(i - 1)];
}

}  // namespace

int GgufPoolingType(const llama_model* model) {
  char arch[64] = {};
  if (llama_model_meta_val_str(model, "general.architecture", arch, sizeof(arch)) <= 0) return -1;
  const std::string key = std::string(arch) + ".pooling_type";
  char value[32] = {};
  if (llama_model_meta_val_str(model, key.c_str(), value, sizeof(value)) <= 0) return -1;
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  return end != value && *end == '\0' ? static_cast<int>(v) : -1;
}

LlamaEmbedder::LlamaEmbedder(llama_context* ctx, Pooling pooling, int chunk)
    : ctx_(ctx),
      pooling_(pooling),
      chunk_(chunk),
      n_embd_(llama_model_n_embd_out(llama_get_model(ctx))) {
  batch_.reset(new llama_batch(llama_batch_init(chunk_, 0, 1)));
}

void LlamaEmbedder::Add(llama_token token, int pos, int seq) {
  llama_batch& b = *batch_;
  const int i = b.n_tokens++;
  b.token[i] = token;
  b.pos[i] = pos;
  b.n_seq_id[i] = 1;
  b.seq_id[i][0] = seq;
  b.logits[i] = 1;  // llama.cpp outputs every token with embeddings on anyway
}

Status LlamaEmbedder::Decode() {
  const int32_t rc = llama_decode(ctx_, *batch_);
  if (rc == 0) return Status::Ok();
  if (rc == 2) return Status::Cancelled("cancelled");
  return Status::Internal("llama_decode failed with code " + std::to_string(rc) +
                          " while computing embeddings");
}

Status LlamaEmbedder::PoolRows(int first, int n) {
  for (int i = first; i < first + n; ++i) {
    const float* row = llama_get_embeddings_ith(ctx_, i);
    if (row == nullptr) return Status::Internal("llama.cpp returned no embeddings");
    pool_.Add(row);
  }
  return Status::Ok();
}

Status LlamaEmbedder::Run(const PreparedPrompt& prompt, std::span<const int> seqs,
                          GenerateStats& stats) {
  const auto start = std::chrono::steady_clock::now();
  stats = GenerateStats{};
  stats.n_embd = n_embd_;
  stats.prompt_tokens = static_cast<int>(prompt.tokens.size());
  stats.embeddings.assign(prompt.input_ends.size() * static_cast<size_t>(n_embd_), 0.0f);
  llama_set_embeddings(ctx_, true);
  Status st = RunAll(prompt, seqs, stats);
  llama_set_embeddings(ctx_, false);
  // Whatever the inputs wrote is nobody's cache.
  for (int s : seqs) llama_memory_seq_rm(llama_get_memory(ctx_), s, -1, -1);
  stats.prompt_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!st.ok()) stats.embeddings.clear();
  return st;
}

Status LlamaEmbedder::RunAll(const PreparedPrompt& prompt, std::span<const int> seqs,
                             GenerateStats& stats) {
  const int n_inputs = static_cast<int>(prompt.input_ends.size());
  int next = 0;
  while (next < n_inputs) {
    batch_->n_tokens = 0;
    packed_.clear();
    // Whole inputs, each in its own sequence, while they fit in one chunk.
    while (next < n_inputs && packed_.size() < seqs.size()) {
      const int begin = InputBegin(prompt, next);
      const int length = prompt.input_ends[static_cast<size_t>(next)] - begin;
      if (batch_->n_tokens + length > chunk_) break;
      const int seq = seqs[packed_.size()];
      for (int j = 0; j < length; ++j) Add(prompt.tokens[static_cast<size_t>(begin + j)], j, seq);
      packed_.push_back({next, begin, length, seq});
      ++next;
    }
    Status st = packed_.empty() ? DecodeLong(prompt, next++, seqs[0], stats) : DecodePacked(stats);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status LlamaEmbedder::DecodePacked(GenerateStats& stats) {
  if (Status st = Decode(); !st.ok()) return st;
  int row = 0;
  for (const Packed& p : packed_) {
    pool_.Reset(pooling_, n_embd_);
    if (Status st = PoolRows(row, p.length); !st.ok()) return st;
    row += p.length;
    pool_.Finish(std::span<float>(stats.embeddings)
                     .subspan(static_cast<size_t>(p.input) * static_cast<size_t>(n_embd_),
                              static_cast<size_t>(n_embd_)));
    llama_memory_seq_rm(llama_get_memory(ctx_), p.seq, -1, -1);
  }
  return Status::Ok();
}

Status LlamaEmbedder::DecodeLong(const PreparedPrompt& prompt, int input, int seq,
                                 GenerateStats& stats) {
  const int begin = InputBegin(prompt, input);
  const int length = prompt.input_ends[static_cast<size_t>(input)] - begin;
  pool_.Reset(pooling_, n_embd_);
  for (int pos = 0; pos < length; pos += chunk_) {
    batch_->n_tokens = 0;
    const int take = std::min(chunk_, length - pos);
    for (int j = 0; j < take; ++j) {
      Add(prompt.tokens[static_cast<size_t>(begin + pos + j)], pos + j, seq);
    }
    if (Status st = Decode(); !st.ok()) return st;
    if (Status st = PoolRows(0, take); !st.ok()) return st;
  }
  pool_.Finish(std::span<float>(stats.embeddings)
                   .subspan(static_cast<size_t>(input) * static_cast<size_t>(n_embd_),
                            static_cast<size_t>(n_embd_)));
  llama_memory_seq_rm(llama_get_memory(ctx_), seq, -1, -1);
  return Status::Ok();
}

}  // namespace modeld::llm
