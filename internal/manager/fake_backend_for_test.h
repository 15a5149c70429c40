#pragma once

// A scriptable llm::Backend for the manager's unit tests. Loads, warm-ups and
// token generation can be held and released from the test thread, loads can
// fail for chosen ids, and the fake counts loads, warm-ups and live models so
// tests can assert "exactly one context at a time".
//
// Every wait inside the fake is bounded (kFakeSafetyLimit) so a broken test
// fails instead of hanging.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::manager::testing {

using FakeClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// No wait inside the fake lasts longer than this.
inline constexpr milliseconds kFakeSafetyLimit{10000};
// How often a blocked load polls LoadControl::abort (llama.cpp's progress
// callback fires about as often).
inline constexpr milliseconds kFakePoll{1};

// How a blocked load reacts to LoadControl::abort.
enum class AbortMode {
  kPoll,          // notices abort within kFakePoll, like llama.cpp
  kAfterRelease,  // notices abort only once released (a slow progress callback)
};

// State shared by the backend and the models it made. Thread-safe: every
// field is guarded by mu.
struct FakeState {
  std::mutex mu;
  std::condition_variable cv;

  // Per-id script.
  std::map<std::string, AbortMode> block_load;  // GUARDED_BY(mu); present: held
  std::map<std::string, Status> fail_load;      // GUARDED_BY(mu)
  std::map<std::string, bool> block_warmup;     // GUARDED_BY(mu); present: held
  std::map<std::string, Status> fail_warmup;    // GUARDED_BY(mu)

  // Per-id counters.
  std::map<std::string, int> loads;          // GUARDED_BY(mu); Load calls entered
  std::map<std::string, int> aborted_loads;  // GUARDED_BY(mu); returned Cancelled
  std::map<std::string, int> warmups;        // GUARDED_BY(mu); Warmup calls entered
  std::map<std::string, int> generates;      // GUARDED_BY(mu); Generate calls entered

  // Model lifetime.
  int live = 0;                   // GUARDED_BY(mu)
  int max_live = 0;               // GUARDED_BY(mu)
  int max_live_at_load = 0;       // GUARDED_BY(mu); live models when a Load began
  int total_generates = 0;        // GUARDED_BY(mu)
  int running_generates = 0;      // GUARDED_BY(mu)
  int max_running_generates = 0;  // GUARDED_BY(mu)
  int slot_violations = 0;        // GUARDED_BY(mu); Start into a busy or unknown slot

  // Token gate: when enabled each token consumes one permit.
  bool gate = false;                // GUARDED_BY(mu)
  int permits = 0;                  // GUARDED_BY(mu)
  bool gate_honours_cancel = true;  // GUARDED_BY(mu); false: a slow token decode
  int tokens_emitted = 0;           // GUARDED_BY(mu); across all generations
  milliseconds token_delay{0};      // GUARDED_BY(mu)
  float load_progress = 0.5f;       // GUARDED_BY(mu); reported while a load is held

  // Waits for `pred` (called with mu held) for at most `timeout`.
  template <typename Pred>
  bool WaitFor(milliseconds timeout, Pred pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, pred);
  }
};

inline int CountOf(const std::map<std::string, int>& m, const std::string& id) {
  auto it = m.find(id);
  return it == m.end() ? 0 : it->second;
}

// One fake loaded model: up to spec.parallel sequences, stepped together.
// Not thread-safe (the manager's worker drives it).
class FakeModel final : public llm::Model {
 public:
  FakeModel(std::shared_ptr<FakeState> state, const llm::LoadSpec& spec)
      : state_(std::move(state)),
        id_(spec.id),
        n_ctx_(spec.ctx_size),
        seqs_(static_cast<size_t>(std::max(1, spec.parallel))) {
    std::lock_guard lock(state_->mu);
    ++state_->live;
    state_->max_live = std::max(state_->max_live, state_->live);
    state_->cv.notify_all();
  }
  ~FakeModel() override {
    std::lock_guard lock(state_->mu);
    --state_->live;
    state_->running_generates -= Active();
    state_->cv.notify_all();
  }

  Status Warmup(const std::atomic<bool>& cancel) override {
    std::unique_lock lock(state_->mu);
    ++state_->warmups[id_];
    state_->cv.notify_all();
    const auto deadline = FakeClock::now() + kFakeSafetyLimit;
    while (state_->block_warmup.count(id_) != 0) {
      if (cancel.load()) return Status::Cancelled("warm-up aborted");
      if (FakeClock::now() > deadline) return Status::Internal("fake: warm-up held too long");
      state_->cv.wait_for(lock, kFakePoll);
    }
    if (cancel.load()) return Status::Cancelled("warm-up aborted");
    if (auto it = state_->fail_warmup.find(id_); it != state_->fail_warmup.end()) {
      return it->second;
    }
    return Status::Ok();
  }

  int max_sequences() const override { return static_cast<int>(seqs_.size()); }
  int n_ctx() const override { return n_ctx_; }
  int used_cells() const override {
    int n = 0;
    for (const Seq& q : seqs_) n += q.active ? q.stats->prompt_tokens + q.emitted : 0;
    return n;
  }
  bool busy() const override { return Active() > 0; }
  int64_t preemptions() const override { return 0; }  // the fake has no KV pressure

  // A prompt of size/4+1 tokens; a prompt "too long" is rejected like an
  // over-long prompt is.
  Result<llm::PreparedPrompt> Prepare(const llm::GenerateParams& params) override {
    if (params.prompt == "too long") return Status::InvalidRequest("prompt is too long");
    llm::PreparedPrompt p;
    p.tokens.assign(params.prompt.size() / 4 + 1, 0);
    p.cells = std::min(static_cast<int>(p.tokens.size()) + params.max_tokens, n_ctx_);
    return p;
  }

  void Start(int seq, llm::PreparedPrompt prompt, const llm::GenerateParams& params,
             llm::TextSink& sink, const std::atomic<bool>& cancel,
             llm::GenerateStats& stats) override {
    std::lock_guard lock(state_->mu);
    if (seq < 0 || seq >= max_sequences() || seqs_[static_cast<size_t>(seq)].active) {
      ++state_->slot_violations;
      return;
    }
    ++state_->generates[id_];
    ++state_->total_generates;
    ++state_->running_generates;
    state_->max_running_generates =
        std::max(state_->max_running_generates, state_->running_generates);
    Seq& q = seqs_[static_cast<size_t>(seq)];
    q = Seq{};
    q.active = true;
    q.params = &params;
    q.sink = &sink;
    q.cancel = &cancel;
    q.stats = &stats;
    q.start = FakeClock::now();
    stats = {};
    stats.prompt_tokens = static_cast<int>(prompt.tokens.size());
    state_->cv.notify_all();
  }

  // Emits "<id>:<i> " per token for each sequence in slot order. Honours the
  // gate, the delay and `cancel` once per token; hands text to the sink only
  // when it Wants() it, or at the end, like the llama.cpp adapter.
  void Step(std::vector<llm::SeqEnd>& ended) override {
    for (size_t s = 0; s < seqs_.size(); ++s) {
      Seq& q = seqs_[s];
      if (!q.active) continue;
      if (q.cancel->load()) {
        End(s, Status::Cancelled("cancelled"), ended);
        continue;
      }
      if (!q.started) {
        q.started = true;
        q.stats->prompt_ms = MsSince(q.start);
        q.gen_start = FakeClock::now();
        q.sink->Started();
      }
      if (Status st = NextToken(*q.cancel); !st.ok()) {
        End(s, st, ended);
        continue;
      }
      ++q.stats->completion_tokens;
      q.pending += id_ + ":" + std::to_string(q.emitted++) + " ";
      if (q.sink->Wants()) {
        q.sink->Deliver(q.pending);
        q.pending.clear();
      }
      if (q.emitted >= q.params->max_tokens) {
        q.stats->finish = llm::FinishReason::kLength;
        if (!q.pending.empty()) q.sink->Deliver(q.pending);
        End(s, Status::Ok(), ended);
      }
    }
  }

 private:
  struct Seq {
    bool active = false;
    bool started = false;
    const llm::GenerateParams* params = nullptr;
    llm::TextSink* sink = nullptr;
    const std::atomic<bool>* cancel = nullptr;
    llm::GenerateStats* stats = nullptr;
    int emitted = 0;
    std::string pending;
    FakeClock::time_point start{};
    FakeClock::time_point gen_start{};
  };

  static double MsSince(FakeClock::time_point t) {
    return std::chrono::duration<double, std::milli>(FakeClock::now() - t).count();
  }
  int Active() const {
    int n = 0;
    for (const Seq& q : seqs_) n += q.active ? 1 : 0;
    return n;
  }
  void End(size_t s, Status status, std::vector<llm::SeqEnd>& ended) {
    Seq& q = seqs_[s];
    if (q.started) q.stats->generation_ms = MsSince(q.gen_start);
    q.active = false;
    ended.push_back({static_cast<int>(s), std::move(status)});
    std::lock_guard lock(state_->mu);
    --state_->running_generates;
    state_->cv.notify_all();
  }

  // Waits for a gate permit and the token delay. A cancelled wait returns
  // Cancelled only when the gate honours cancel; otherwise the caller sees
  // the flag at the next token.
  Status NextToken(const std::atomic<bool>& cancel) {
    std::unique_lock lock(state_->mu);
    const auto deadline = FakeClock::now() + kFakeSafetyLimit;
    while (state_->gate && state_->permits == 0) {
      if (state_->gate_honours_cancel && cancel.load()) return Status::Cancelled("cancelled");
      if (FakeClock::now() > deadline) return Status::Internal("fake: token gate held too long");
      state_->cv.wait_for(lock, kFakePoll);
    }
    if (state_->gate) --state_->permits;
    const milliseconds delay = state_->token_delay;
    ++state_->tokens_emitted;
    state_->cv.notify_all();
    lock.unlock();
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return Status::Ok();
  }

  const std::shared_ptr<FakeState> state_;
  const std::string id_;
  const int n_ctx_;
  std::vector<Seq> seqs_;
};

// Thread-safe: the script and counters live in FakeState under its mutex.
class FakeBackend final : public llm::Backend {
 public:
  FakeBackend() : state_(std::make_shared<FakeState>()) {}

  Result<llm::ModelPtr> Load(const llm::LoadSpec& spec, llm::LoadControl& control) override {
    std::unique_lock lock(state_->mu);
    ++state_->loads[spec.id];
    state_->max_live_at_load = std::max(state_->max_live_at_load, state_->live);
    state_->cv.notify_all();
    const auto deadline = FakeClock::now() + kFakeSafetyLimit;
    for (;;) {
      auto it = state_->block_load.find(spec.id);
      if (it == state_->block_load.end()) break;
      if (it->second == AbortMode::kPoll && control.abort.load()) break;
      if (FakeClock::now() > deadline) return Status::Internal("fake: load held too long");
      control.progress.store(state_->load_progress);
      state_->cv.wait_for(lock, kFakePoll);
    }
    if (control.abort.load()) {
      ++state_->aborted_loads[spec.id];
      state_->cv.notify_all();
      return Status::Cancelled("load aborted");
    }
    if (auto it = state_->fail_load.find(spec.id); it != state_->fail_load.end()) {
      return it->second;
    }
    control.progress.store(1.0f);
    lock.unlock();
    if (control.on_progress) control.on_progress(1.0f);
    return llm::ModelPtr(std::make_unique<FakeModel>(state_, spec));
  }

  // ---- script
  void BlockLoad(const std::string& id, AbortMode mode = AbortMode::kPoll) {
    Edit([&](FakeState& s) { s.block_load[id] = mode; });
  }
  void ReleaseLoad(const std::string& id) {
    Edit([&](FakeState& s) { s.block_load.erase(id); });
  }
  void FailLoad(const std::string& id, Status status) {
    Edit([&](FakeState& s) { s.fail_load[id] = std::move(status); });
  }
  void BlockWarmup(const std::string& id) {
    Edit([&](FakeState& s) { s.block_warmup[id] = true; });
  }
  void ReleaseWarmup(const std::string& id) {
    Edit([&](FakeState& s) { s.block_warmup.erase(id); });
  }
  void FailWarmup(const std::string& id, Status status) {
    Edit([&](FakeState& s) { s.fail_warmup[id] = std::move(status); });
  }
  // Holds every generation before each token until Allow() grants permits.
  void CloseGate(bool honour_cancel = true) {
    Edit([&](FakeState& s) {
      s.gate = true;
      s.gate_honours_cancel = honour_cancel;
    });
  }
  void Allow(int tokens) {
    Edit([&](FakeState& s) { s.permits += tokens; });
  }
  void OpenGate() {
    Edit([&](FakeState& s) { s.gate = false; });
  }
  void SetTokenDelay(milliseconds delay) {
    Edit([&](FakeState& s) { s.token_delay = delay; });
  }

  // ---- counters
  int loads(const std::string& id) const {
    return Read([&](FakeState& s) { return CountOf(s.loads, id); });
  }
  int aborted_loads(const std::string& id) const {
    return Read([&](FakeState& s) { return CountOf(s.aborted_loads, id); });
  }
  int warmups(const std::string& id) const {
    return Read([&](FakeState& s) { return CountOf(s.warmups, id); });
  }
  int generates(const std::string& id) const {
    return Read([&](FakeState& s) { return CountOf(s.generates, id); });
  }
  int total_generates() const {
    return Read([](FakeState& s) { return s.total_generates; });
  }
  int live_models() const {
    return Read([](FakeState& s) { return s.live; });
  }
  int max_live_models() const {
    return Read([](FakeState& s) { return s.max_live; });
  }
  // The most models alive when a Load began: 0 means the old one was always
  // freed first.
  int max_live_at_load() const {
    return Read([](FakeState& s) { return s.max_live_at_load; });
  }
  int max_running_generates() const {
    return Read([](FakeState& s) { return s.max_running_generates; });
  }
  int slot_violations() const {
    return Read([](FakeState& s) { return s.slot_violations; });
  }
  int running_generates() const {
    return Read([](FakeState& s) { return s.running_generates; });
  }
  int tokens_emitted() const {
    return Read([](FakeState& s) { return s.tokens_emitted; });
  }

  // ---- bounded waits (true when the condition came about in time)
  bool WaitLoads(const std::string& id, int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return CountOf(state_->loads, id) >= n; });
  }
  bool WaitAbortedLoads(const std::string& id, int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return CountOf(state_->aborted_loads, id) >= n; });
  }
  bool WaitWarmups(const std::string& id, int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return CountOf(state_->warmups, id) >= n; });
  }
  bool WaitGenerates(const std::string& id, int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return CountOf(state_->generates, id) >= n; });
  }
  bool WaitTokens(int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return state_->tokens_emitted >= n; });
  }
  bool WaitRunning(int n, milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return state_->running_generates == n; });
  }
  bool WaitIdle(milliseconds timeout) {
    return state_->WaitFor(timeout, [&] { return state_->running_generates == 0; });
  }

 private:
  template <typename F>
  void Edit(F f) {
    std::lock_guard lock(state_->mu);
    f(*state_);
    state_->cv.notify_all();
  }
  template <typename F>
  int Read(F f) const {
    std::lock_guard lock(state_->mu);
    return f(*state_);
  }

  const std::shared_ptr<FakeState> state_;
};

}  // namespace modeld::manager::testing
