#include "internal/llm/llama_model.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "internal/llm/llama_log.h"
#include "internal/llm/llama_prompt.h"
#include "internal/llm/llama_sampling.h"
#include "internal/llm/stop_matcher.h"
#include "internal/llm/utf8_stream.h"

namespace modeld::llm {
namespace {

using Clock = std::chrono::steady_clock;

// Batches streamed text: at most one hand-over per this interval (see TokenLoop).
constexpr auto kMinDeliverInterval = std::chrono::milliseconds(2);

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Points the model's abort flag at `cancel` for one call, and keeps the
// errors llama.cpp logs for an aborted decode out of the error log.
class CancelScope {
 public:
  CancelScope(std::atomic<const std::atomic<bool>*>& slot, const std::atomic<bool>& cancel)
      : slot_(slot), quiet_(cancel) {
    slot_.store(&cancel, std::memory_order_release);
  }
  ~CancelScope() { slot_.store(nullptr, std::memory_order_release); }
  CancelScope(const CancelScope&) = delete;
  CancelScope& operator=(const CancelScope&) = delete;

 private:
  std::atomic<const std::atomic<bool>*>& slot_;
  LlamaCancelQuiet quiet_;
};

Status Cancelled() { return Status::Cancelled("cancelled"); }

}  // namespace

LlamaModel::LlamaModel(LoadSpec spec, ModelHandle model, ContextHandle ctx)
    : spec_(std::move(spec)),
      model_(std::move(model)),
      ctx_(std::move(ctx)),
      vocab_(llama_model_get_vocab(model_.get())),
      n_ctx_(static_cast<int>(llama_n_ctx(ctx_.get()))),
      n_batch_(static_cast<int>(llama_n_batch(ctx_.get()))) {
  llama_set_abort_callback(ctx_.get(), &LlamaModel::AbortRequested, &cancel_);
  ggml_threadpool_params tp = ggml_threadpool_params_default(llama_n_threads(ctx_.get()));
  threadpool_.reset(ggml_threadpool_new(&tp));
  // Without a pool (allocation failure) llama.cpp falls back to per-call threads.
  if (threadpool_) llama_attach_threadpool(ctx_.get(), threadpool_.get(), threadpool_.get());
  piece_.resize(256);
  text_.reserve(1024);
  pending_.reserve(16 * 1024);
}

LlamaModel::~LlamaModel() = default;

bool LlamaModel::AbortRequested(void* data) {
  const auto* slot = static_cast<const std::atomic<const std::atomic<bool>*>*>(data);
  const std::atomic<bool>* cancel = slot->load(std::memory_order_acquire);
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

// Marks every KV cell free; the data itself is overwritten by the next
// decode. Wiping it (data=true) would memset the whole cache, ~150 MB for
// `small` at n_ctx 4096, on every request.
void LlamaModel::ClearMemory() { llama_memory_clear(llama_get_memory(ctx_.get()), false); }

Status LlamaModel::Decode(llama_token* tokens, int n) {
  for (int i = 0; i < n; i += n_batch_) {
    const int len = std::min(n_batch_, n - i);
    const int32_t rc = llama_decode(ctx_.get(), llama_batch_get_one(tokens + i, len));
    if (rc == 0) continue;
    if (rc == 2) return Cancelled();
    return Status::Internal("llama_decode failed with code " + std::to_string(rc) + " for model '" +
                            spec_.id + "'");
  }
  return Status::Ok();
}

Status LlamaModel::Warmup(const std::atomic<bool>& cancel) {
  // No early check of `cancel`: the decode's abort callback sees it.
  CancelScope scope(cancel_, cancel);
  ClearMemory();
  llama_token token = llama_vocab_bos(vocab_);
  if (token == LLAMA_TOKEN_NULL) token = llama_vocab_eos(vocab_);
  if (token == LLAMA_TOKEN_NULL) token = 0;
  Status st = Decode(&token, 1);
  ClearMemory();
  return st;
}

Status LlamaModel::BuildPrompt(const GenerateParams& params) {
  if (params.messages.has_value()) {
    if (params.messages->empty()) return Status::InvalidRequest("messages must not be empty");
    Status st =
        FormatChat(model_.get(), spec_.chat_template, *params.messages, spec_.id, formatted_);
    if (!st.ok()) return st;
    return Tokenize(vocab_, formatted_, /*parse_special=*/true, prompt_tokens_);
  }
  return Tokenize(vocab_, params.prompt, /*parse_special=*/false, prompt_tokens_);
}

void LlamaModel::AppendPiece(llama_token token) {
  int32_t n = llama_token_to_piece(vocab_, token, piece_.data(),
                                   static_cast<int32_t>(piece_.size()), 0, /*special=*/false);
  if (n < 0) {  // a piece longer than any seen so far: grow once
    piece_.resize(static_cast<size_t>(-n));
    n = llama_token_to_piece(vocab_, token, piece_.data(), static_cast<int32_t>(piece_.size()), 0,
                             false);
  }
  if (n > 0) utf8_.Push(std::string_view(piece_.data(), static_cast<size_t>(n)), text_);
}

Status LlamaModel::Generate(const GenerateParams& params, TextSink& sink,
                            const std::atomic<bool>& cancel, GenerateStats& stats) {
  CancelScope scope(cancel_, cancel);
  stats = GenerateStats{};
  const Clock::time_point prompt_start = Clock::now();
  Status st = Prefill(params, cancel, stats);
  stats.prompt_ms = MsSince(prompt_start);
  if (!st.ok()) return st;
  const Clock::time_point gen_start = Clock::now();
  st = TokenLoop(params, sink, cancel, stats);
  stats.generation_ms = MsSince(gen_start);
  return st;
}

Status LlamaModel::Prefill(const GenerateParams& params, const std::atomic<bool>& cancel,
                           GenerateStats& stats) {
  if (params.max_tokens <= 0) return Status::InvalidRequest("max_tokens must be positive");
  for (const auto& stop : params.stop) {
    if (!IsValidUtf8(stop)) return Status::InvalidRequest("stop strings must be valid UTF-8");
  }
  if (cancel.load(std::memory_order_relaxed)) return Cancelled();
  ClearMemory();
  if (Status st = BuildPrompt(params); !st.ok()) return st;
  const int n_prompt = static_cast<int>(prompt_tokens_.size());
  stats.prompt_tokens = n_prompt;
  if (n_prompt + 1 > n_ctx_) {
    return Status::InvalidRequest("prompt is " + std::to_string(n_prompt) +
                                  " tokens; context size is " + std::to_string(n_ctx_));
  }
  return Decode(prompt_tokens_.data(), n_prompt);
}

Status LlamaModel::TokenLoop(const GenerateParams& params, TextSink& sink,
                             const std::atomic<bool>& cancel, GenerateStats& stats) {
  // Built once per request; the loop below allocates nothing.
  TokenSampler sampler(vocab_, params.sampling);
  StopMatcher matcher(params.stop);
  utf8_.Reset();
  text_.clear();
  pending_.clear();

  sink.Started();
  Clock::time_point last_deliver = Clock::now();
  int n_past = stats.prompt_tokens;
  bool stopped = false;
  for (;;) {
    if (cancel.load(std::memory_order_relaxed)) return Cancelled();
    llama_token token = sampler.Sample(ctx_.get());
    if (token == LLAMA_TOKEN_NULL) return Status::Internal("no logits after decode");
    if (llama_vocab_is_eog(vocab_, token)) {
      stats.finish = FinishReason::kStop;
      break;
    }
    ++stats.completion_tokens;
    text_.clear();
    AppendPiece(token);
    stopped = matcher.Push(text_, pending_);
    // Hand over when the consumer is idle, but at most once per
    // kMinDeliverInterval: a tiny model makes thousands of tokens a second,
    // and one event per token would spend more on the socket and the client
    // than on decoding. The first batch goes out at once (time to first token).
    if (!pending_.empty() && sink.Wants()) {
      const Clock::time_point now = Clock::now();
      if (now - last_deliver >= kMinDeliverInterval || stats.completion_tokens == 1) {
        sink.Deliver(pending_);
        pending_.clear();
        last_deliver = now;
      }
    }
    if (stopped) {
      stats.finish = FinishReason::kStop;
      break;
    }
    if (stats.completion_tokens >= params.max_tokens || n_past >= n_ctx_) {
      stats.finish = FinishReason::kLength;
      break;
    }
    if (Status st = Decode(&token, 1); !st.ok()) return st;
    ++n_past;
  }

  if (!stopped) {
    text_.clear();
    utf8_.Flush(text_);
    matcher.Push(text_, pending_);
    // A stop can complete only now, when a longer candidate was still open.
    if (matcher.Flush(pending_)) stats.finish = FinishReason::kStop;
  }
  if (!pending_.empty()) {
    sink.Deliver(pending_);
    pending_.clear();
  }
  return Status::Ok();
}

}  // namespace modeld::llm
