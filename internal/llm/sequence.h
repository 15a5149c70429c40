#pragma once

#include <llama.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/llama_sampling.h"
#include "internal/llm/stop_matcher.h"
#include "internal/llm/utf8_stream.h"

namespace modeld::llm {

// One request's state inside the batch engine (LlamaModel): where its prompt
// and generation stand in the KV cache, its own sampler, and its text path
// (UTF-8 hold-back, stop strings, batched hand-over to its sink). The engine
// decides what goes into each decode; a Sequence only reacts to the logits
// it gets. Buffers are kept between requests, so the per-token path
// allocates nothing.
// Thread-safety: not thread-safe; the engine's caller owns it.
class Sequence {
 public:
  enum class Phase { kIdle, kPrefill, kGenerate };

  Sequence();

  // Starts a request whose first `reused` prompt tokens are already in this
  // sequence's KV cells (CommonPrefix; the engine dropped the cells after
  // them). `handle` is the caller's name for it.
  void Start(const llama_vocab* vocab, PreparedPrompt prompt, int reused,
             const GenerateParams& params, TextSink& sink, const std::atomic<bool>& cancel,
             GenerateStats& stats, std::chrono::microseconds deliver_interval, uint64_t order,
             int handle);
  int handle() const { return handle_; }

  // ---- the KV cache a finished request leaves behind
  // How many leading `tokens` match tokens whose KV is in this sequence's cells.
  int CommonPrefix(const std::vector<llama_token>& tokens) const;
  // Its cells were dropped.
  void Evict() { n_past_ = 0; }
  // Its cells now hold `tokens`, restored from a saved state.
  void Restored(const std::vector<llama_token>& tokens);
  uint64_t last_used() const { return order_; }

  Phase phase() const { return phase_; }
  bool active() const { return phase_ != Phase::kIdle; }
  bool cancelled() const { return cancel_->load(std::memory_order_relaxed); }
  const std::atomic<bool>* cancel_flag() const { return cancel_; }
  uint64_t order() const { return order_; }  // start order, for fair prefill

  // ---- prefill
  // The tokens to prefill: the prompt, and after a preemption also the
  // tokens generated so far (they are recomputed).
  const std::vector<llama_token>& prompt() const { return prompt_; }
  int prefilled() const { return prefilled_; }
  int remaining_prompt() const { return static_cast<int>(prompt_.size()) - prefilled_; }
  // `n` more prompt tokens were decoded.
  void Prefilled(int n);

  // ---- generation
  // The sampled token that the next step decodes, at position n_past().
  llama_token next_token() const { return next_; }
  int n_past() const { return n_past_; }
  // The next token was decoded.
  void Decoded() { ++n_past_; }

  // Its KV cells were taken back (the cache was full): everything so far is
  // prefilled again later, and generation resumes where it stopped, with the
  // same sampler state and nothing re-sent to the sink.
  void Preempt();

  // The decode just made logits for this sequence at batch index `idx`:
  // samples a token and passes its text on. Returns true when the sequence
  // has finished (end of generation, stop string, max_tokens or its cells);
  // then its remaining text has been handed over and Status is in status().
  bool OnLogits(llama_context* ctx, int32_t idx);
  const Status& status() const { return status_; }

  // Ends the sequence with `status` (cancelled, or an engine error), handing
  // nothing more over. Idempotent for an idle sequence.
  void Fail(Status status);
  // Back to idle; keeps the buffers, and the tokens of the first n_past()
  // cells for a later request that starts with them.
  void Reset();

 private:
  using Clock = std::chrono::steady_clock;
  // Appends the text of `token` to text_ (sanitized to valid UTF-8).
  void AppendPiece(llama_token token);
  // Flushes held-back text to the sink and records the timings.
  void Complete();

  const llama_vocab* vocab_ = nullptr;
  const GenerateParams* params_ = nullptr;
  TextSink* sink_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;
  GenerateStats* stats_ = nullptr;
  std::chrono::microseconds deliver_interval_{0};
  uint64_t order_ = 0;
  int handle_ = -1;

  Phase phase_ = Phase::kIdle;
  Status status_;
  std::vector<llama_token> prompt_;
  int prefilled_ = 0;
  int cells_ = 0;  // the most positions this sequence may fill
  int n_past_ = 0;
  llama_token next_ = LLAMA_TOKEN_NULL;
  bool stopped_ = false;
  bool resumed_ = false;  // prefilling again after a preemption
  Clock::time_point start_{};
  Clock::time_point gen_start_{};
  Clock::time_point last_deliver_{};

  std::optional<TokenSampler> sampler_;
  std::optional<StopMatcher> matcher_;
  std::vector<llama_token> preserved_;  // sorted; control tokens output as text
  Utf8Stream utf8_;
  std::vector<char> piece_;  // one token's bytes
  std::string text_;         // one token's sanitized text
  std::string pending_;      // text not yet handed to the sink
};

}  // namespace modeld::llm
