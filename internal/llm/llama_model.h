#pragma once

#include <ggml-cpu.h>
#include <llama.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/utf8_stream.h"

namespace modeld::llm {

// A loaded llama.cpp model with its one context (created by LlamaBackend).
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
  using ModelHandle = std::unique_ptr<llama_model, ModelDeleter>;
  using ContextHandle = std::unique_ptr<llama_context, ContextDeleter>;
  struct ThreadpoolDeleter {
    void operator()(ggml_threadpool* t) const { ggml_threadpool_free(t); }
  };
  using ThreadpoolHandle = std::unique_ptr<ggml_threadpool, ThreadpoolDeleter>;

  // Takes ownership of `model` and of `ctx`, a context made from it.
  LlamaModel(LoadSpec spec, ModelHandle model, ContextHandle ctx);
  ~LlamaModel() override;
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  Status Warmup(const std::atomic<bool>& cancel) override;
  Status Generate(const GenerateParams& params, TextSink& sink, const std::atomic<bool>& cancel,
                  GenerateStats& stats) override;

  int n_ctx() const { return n_ctx_; }

 private:
  // Validates, tokenizes and decodes the prompt.
  Status Prefill(const GenerateParams& params, const std::atomic<bool>& cancel,
                 GenerateStats& stats);
  // Samples, converts and hands over tokens until a finish condition.
  Status TokenLoop(const GenerateParams& params, TextSink& sink, const std::atomic<bool>& cancel,
                   GenerateStats& stats);
  // Turns the prompt or messages into prompt_tokens_.
  Status BuildPrompt(const GenerateParams& params);
  // Decodes tokens in batches of at most n_batch_; honours the abort flag.
  Status Decode(llama_token* tokens, int n);
  void ClearMemory();
  // Appends the text of `token` to text_ (sanitized to valid UTF-8).
  void AppendPiece(llama_token token);

  // llama.cpp's compute threads poll this between graph nodes.
  static bool AbortRequested(void* data);

  // Constant after construction.
  const LoadSpec spec_;
  ModelHandle model_;  // declared before ctx_, so the context is freed first
  // Persistent compute threads, as llama-server and llama-bench use: without
  // one, ggml starts and joins its workers on every llama_decode, which costs
  // more than a whole decode step of a small model. Freed after ctx_.
  ThreadpoolHandle threadpool_;
  ContextHandle ctx_;
  const llama_vocab* vocab_;
  int n_ctx_;
  int n_batch_;

  // The running call's cancel flag, null between calls; read by
  // AbortRequested on llama.cpp's threads while a decode runs.
  std::atomic<const std::atomic<bool>*> cancel_{nullptr};

  // Per-request buffers, reused so the per-token path does not allocate.
  Utf8Stream utf8_;
  std::string formatted_;  // chat-templated prompt
  std::vector<llama_token> prompt_tokens_;
  std::vector<char> piece_;  // one token's bytes
  std::string text_;         // one token's sanitized text
  std::string pending_;      // text not yet handed to the sink
};

}  // namespace modeld::llm
