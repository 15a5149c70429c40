#pragma once

// Shared by the manager's unit tests: the fake catalog, a consumer that
// waits for a request's outcome, an observer that records events, and the
// fixture that checks the manager's invariants after every test.

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "internal/manager/fake_backend_for_test.h"
#include "internal/manager/manager.h"

namespace modeld::manager::testutil {

using std::chrono::milliseconds;
using testing::FakeBackend;

// Upper bound for anything that should happen "soon". Generous for sanitizer
// builds; a passing run never waits for it.
constexpr milliseconds kWait{5000};
// Shutdown must return promptly.
constexpr milliseconds kPrompt{1000};

// "wide" runs up to kWideParallel sequences in kWideCells KV cells; the
// others one at a time, so their tests see a plain queue.
constexpr int kWideParallel = 3;
constexpr int kWideCells = 100;

inline std::vector<llm::LoadSpec> Catalog() {
  std::vector<llm::LoadSpec> c;
  for (const char* id : {"a", "b", "c", "bad", "wide"}) {
    llm::LoadSpec s;
    s.id = id;
    s.path = std::string("/models/") + id + ".gguf";
    s.parallel = 1;
    c.push_back(s);
  }
  c.back().parallel = kWideParallel;
  c.back().ctx_size = kWideCells;
  return c;
}

inline std::shared_ptr<Request> NewRequest(const std::string& model, int max_tokens = 4) {
  llm::GenerateParams p;
  p.prompt = "tell me a story";
  p.max_tokens = max_tokens;
  return std::make_shared<Request>(model, std::move(p));
}

// What a consumer saw of one request.
struct Seen {
  bool done = false;
  std::string text;
  Outcome outcome;
};

// Consumes `request` like the HTTP layer does (SetNotify + Take) until it
// finishes or `timeout` passes.
inline Seen WaitOutcome(const std::shared_ptr<Request>& request, milliseconds timeout = kWait) {
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool signalled = false;
  };
  auto wake = std::make_shared<Wake>();  // the notify may outlive this call
  request->SetNotify([wake] {
    std::lock_guard lock(wake->mu);
    wake->signalled = true;
    wake->cv.notify_all();
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Seen seen;
  std::string chunk;
  for (;;) {
    chunk.clear();
    Request::Update u = request->Take(chunk);
    seen.text += chunk;
    if (u.finished) {
      seen.done = true;
      seen.outcome = request->outcome();
      return seen;
    }
    if (u.started || !chunk.empty()) continue;  // not parked: take again
    std::unique_lock lock(wake->mu);
    if (!wake->cv.wait_until(lock, deadline, [&] { return wake->signalled; })) return seen;
    wake->signalled = false;
  }
}

// The text the fake emits for `n` tokens of model `id`.
inline std::string FakeText(const std::string& id, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += id + ":" + std::to_string(i) + " ";
  return s;
}

// Records what the manager reports. Thread-safe.
class RecordingObserver : public Observer {
 public:
  void OnSwitch(const SwitchReport& report) override {
    std::lock_guard lock(mu_);
    switches_.push_back(report);
  }
  void OnStateChange(ModelState state, const std::string& model) override {
    std::lock_guard lock(mu_);
    states_.push_back(std::string(ModelStateName(state)) + ":" + model);
  }
  void OnLoadProgress(const std::string& model, float progress) override {
    std::lock_guard lock(mu_);
    progress_.push_back(model + ":" + std::to_string(static_cast<int>(progress * 100)));
  }
  void OnCancel(CancelReason reason) override {
    std::lock_guard lock(mu_);
    cancels_.push_back(reason);
  }
  void OnSubmit(const std::string& /*model*/) override {
    std::lock_guard lock(mu_);
    ++submits_;
  }
  void OnFinish(const Outcome& /*outcome*/) override {
    std::lock_guard lock(mu_);
    ++finishes_;
  }
  int submits() const {
    std::lock_guard lock(mu_);
    return submits_;
  }
  int finishes() const {
    std::lock_guard lock(mu_);
    return finishes_;
  }
  std::vector<SwitchReport> switches() const {
    std::lock_guard lock(mu_);
    return switches_;
  }
  std::vector<std::string> states() const {
    std::lock_guard lock(mu_);
    return states_;
  }
  std::vector<std::string> progress() const {
    std::lock_guard lock(mu_);
    return progress_;
  }
  std::vector<CancelReason> cancels() const {
    std::lock_guard lock(mu_);
    return cancels_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<SwitchReport> switches_;  // GUARDED_BY(mu_)
  std::vector<std::string> states_;     // GUARDED_BY(mu_)
  std::vector<CancelReason> cancels_;   // GUARDED_BY(mu_)
  std::vector<std::string> progress_;   // GUARDED_BY(mu_)
  int submits_ = 0;                     // GUARDED_BY(mu_)
  int finishes_ = 0;                    // GUARDED_BY(mu_)
};

class ManagerFixture : public ::testing::Test {
 protected:
  void Make(Options options = {}) {
    manager_ = std::make_unique<Manager>(backend_, Catalog(), options, &observer_);
  }

  // Polls the snapshot (the manager has no state-change wait) with a bound.
  bool WaitSnapshot(const std::function<bool(const Snapshot&)>& pred,
                    milliseconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (pred(manager_->GetSnapshot())) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  bool WaitReady(const std::string& id) {
    return WaitSnapshot([&](const Snapshot& s) {
      return s.state == ModelState::kReady && s.loaded == id && s.target == id;
    });
  }

  // A manager with `id` loaded and ready.
  void StartReady(const std::string& id, Options options = {}) {
    Make(options);
    manager_->Start(id);
    ASSERT_TRUE(WaitReady(id));
  }

  std::shared_ptr<Request> Submit(const std::string& model, int max_tokens = 4) {
    auto r = NewRequest(model, max_tokens);
    Status st = manager_->Submit(r);
    EXPECT_TRUE(st.ok()) << st.message();
    return r;
  }

  void ExpectOk(const Seen& seen, const std::string& model, int tokens = 4) {
    ASSERT_TRUE(seen.done) << "request did not finish";
    EXPECT_TRUE(seen.outcome.status.ok()) << seen.outcome.status.message();
    EXPECT_EQ(seen.outcome.model, model);
    EXPECT_EQ(seen.text, FakeText(model, tokens));
    EXPECT_EQ(seen.outcome.stats.completion_tokens, tokens);
  }
  void ExpectCancelled(const Seen& seen, CancelReason reason, Code code = Code::kCancelled) {
    ASSERT_TRUE(seen.done) << "request did not finish";
    EXPECT_EQ(seen.outcome.status.code(), code) << seen.outcome.status.message();
    EXPECT_EQ(seen.outcome.cancel_reason, reason);
  }

  void TearDown() override {
    if (manager_) manager_->Shutdown();
    // Exactly one context at a time, and the old one freed before a load.
    EXPECT_LE(backend_.max_live_models(), 1);
    EXPECT_EQ(backend_.max_live_at_load(), 0);
    EXPECT_LE(backend_.max_running_generates(), kWideParallel);
    EXPECT_EQ(backend_.slot_violations(), 0);
    EXPECT_EQ(backend_.live_models(), 0);
    // Every accepted request got exactly one outcome.
    EXPECT_EQ(observer_.finishes(), observer_.submits());
  }

  // Destroyed in reverse order: the manager before what it points to.
  FakeBackend backend_;
  RecordingObserver observer_;
  std::unique_ptr<Manager> manager_;
};

}  // namespace modeld::manager::testutil
