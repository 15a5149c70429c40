#include "internal/llm/sequence.h"

#include <algorithm>
#include <utility>

namespace modeld::llm {
namespace {

double MsBetween(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Sequence::Sequence() {
  piece_.resize(256);
  text_.reserve(1024);
  pending_.reserve(size_t{16} * 1024);
}

int Sequence::CommonPrefix(const std::vector<llama_token>& tokens) const {
  const size_t n = std::min(tokens.size(), static_cast<size_t>(n_past_));
  size_t i = 0;
  while (i < n && tokens[i] == prompt_[i]) ++i;
  return static_cast<int>(i);
}

void Sequence::Restored(const std::vector<llama_token>& tokens) {
  prompt_.assign(tokens.begin(), tokens.end());
  n_past_ = static_cast<int>(tokens.size());
}

void Sequence::Start(const llama_vocab* vocab, PreparedPrompt prompt, int reused,
                     const GenerateParams& params, TextSink& sink, const std::atomic<bool>& cancel,
                     GenerateStats& stats, std::chrono::microseconds deliver_interval,
                     uint64_t order, int handle) {
  vocab_ = vocab;
  params_ = &params;
  sink_ = &sink;
  cancel_ = &cancel;
  stats_ = &stats;
  deliver_interval_ = deliver_interval;
  order_ = order;
  handle_ = handle;
  status_ = Status::Ok();
  // Keep our buffer's capacity; take the prompt's tokens. Generated tokens
  // are appended (for a recompute after preemption) into reserved space.
  cells_ = prompt.cells;
  prompt_.reserve(static_cast<size_t>(cells_) + 1);
  prompt_.assign(prompt.tokens.begin(), prompt.tokens.end());
  prefilled_ = reused;
  n_past_ = reused;
  next_ = LLAMA_TOKEN_NULL;
  stopped_ = false;
  resumed_ = false;
  sampler_.emplace(vocab, params.sampling, prompt);
  if (prompt.extra_stops.empty()) {
    matcher_.emplace(params.stop);
  } else {
    std::vector<std::string> stops = params.stop;
    stops.insert(stops.end(), prompt.extra_stops.begin(), prompt.extra_stops.end());
    matcher_.emplace(stops);
  }
  preserved_ = std::move(prompt.preserved_tokens);
  std::sort(preserved_.begin(), preserved_.end());
  utf8_.Reset();
  text_.clear();
  pending_.clear();
  *stats_ = GenerateStats{};
  stats_->prompt_tokens = static_cast<int>(prompt_.size());
  stats_->cached_tokens = reused;
  stats_->tool_parser = std::move(prompt.tool_parser);
  start_ = Clock::now();
  phase_ = Phase::kPrefill;
}

void Sequence::Prefilled(int n) {
  prefilled_ += n;
  n_past_ += n;
}

void Sequence::AppendPiece(llama_token token) {
  // Control tokens are no text, except the template's tool markers.
  const bool special =
      !preserved_.empty() && std::binary_search(preserved_.begin(), preserved_.end(), token);
  int32_t n = llama_token_to_piece(vocab_, token, piece_.data(),
                                   static_cast<int32_t>(piece_.size()), 0, special);
  if (n < 0) {  // a piece longer than any seen so far: grow once
    piece_.resize(static_cast<size_t>(-n));
    n = llama_token_to_piece(vocab_, token, piece_.data(), static_cast<int32_t>(piece_.size()), 0,
                             special);
  }
  if (n > 0) utf8_.Push(std::string_view(piece_.data(), static_cast<size_t>(n)), text_);
}

void Sequence::Preempt() {
  prefilled_ = 0;
  n_past_ = 0;
  if (phase_ == Phase::kGenerate) resumed_ = true;
  phase_ = Phase::kPrefill;
}

bool Sequence::OnLogits(llama_context* ctx, int32_t idx) {
  if (phase_ == Phase::kPrefill && resumed_) {
    // Recomputed up to the last sampled token: its logits are the ones it
    // would have had. The request already started; sample on.
    resumed_ = false;
    phase_ = Phase::kGenerate;
  } else if (phase_ == Phase::kPrefill) {
    // The whole prompt is in the cache: the request is accepted.
    gen_start_ = Clock::now();
    stats_->prompt_ms = MsBetween(start_, gen_start_);
    last_deliver_ = gen_start_;
    phase_ = Phase::kGenerate;
    sink_->Started();
  }
  const llama_token token = sampler_->Sample(ctx, idx);
  if (token == LLAMA_TOKEN_NULL) {
    Fail(sampler_->constrained() ? Status::Internal("the grammar allows no next token")
                                 : Status::Internal("no logits after decode"));
    return true;
  }
  if (llama_vocab_is_eog(vocab_, token)) {
    stats_->finish = FinishReason::kStop;
    Complete();
    return true;
  }
  ++stats_->completion_tokens;
  text_.clear();
  AppendPiece(token);
  stopped_ = matcher_->Push(text_, pending_);
  // Hand over when the consumer is idle, but at most once per
  // deliver_interval_: a tiny model makes thousands of tokens a second, and
  // one event per token would spend more on the socket and the client than
  // on decoding. The first batch goes out at once (time to first token).
  if (!pending_.empty() && sink_->Wants()) {
    const Clock::time_point now = Clock::now();
    if (now - last_deliver_ >= deliver_interval_ || stats_->completion_tokens == 1) {
      sink_->Deliver(pending_);
      pending_.clear();
      last_deliver_ = now;
    }
  }
  if (stopped_) {
    stats_->finish = FinishReason::kStop;
    Complete();
    return true;
  }
  if (stats_->completion_tokens >= params_->max_tokens || n_past_ >= cells_) {
    stats_->finish = FinishReason::kLength;
    Complete();
    return true;
  }
  next_ = token;
  prompt_.push_back(token);  // within the reserved cells_ + 1: no allocation
  return false;
}

void Sequence::Complete() {
  if (!stopped_) {
    text_.clear();
    utf8_.Flush(text_);
    matcher_->Push(text_, pending_);
    // A stop can complete only now, when a longer candidate was still open.
    if (matcher_->Flush(pending_)) stats_->finish = FinishReason::kStop;
  }
  if (!pending_.empty()) {
    sink_->Deliver(pending_);
    pending_.clear();
  }
  stats_->generation_ms = MsBetween(gen_start_, Clock::now());
  status_ = Status::Ok();
}

void Sequence::Fail(Status status) {
  if (phase_ == Phase::kIdle) return;
  const Clock::time_point now = Clock::now();
  if (phase_ == Phase::kPrefill) {
    stats_->prompt_ms = MsBetween(start_, now);
  } else {
    stats_->generation_ms = MsBetween(gen_start_, now);
  }
  status_ = std::move(status);
}

void Sequence::Reset() {
  phase_ = Phase::kIdle;
  sampler_.reset();
  matcher_.reset();
  params_ = nullptr;
  sink_ = nullptr;
  cancel_ = nullptr;
  stats_ = nullptr;
}

}  // namespace modeld::llm
