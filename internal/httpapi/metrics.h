#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include "internal/sync/mutex.h"

#include "internal/httpapi/request_observer.h"
#include "internal/manager/observer.h"

namespace modeld::httpapi {

class Router;

// The Content-Type of GET /metrics: Prometheus text format 0.0.4.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// modeld's Prometheus metrics, fed by the manager (as its Observer) and by
// the router (as its RequestObserver), rendered by GET /metrics. Written by
// hand: a dozen families do not need a client library.
// Thread-safety: every method is safe to call from any thread; all state is
// guarded by mu_, which is never held while calling out.
class Metrics final : public manager::Observer, public RequestObserver {
 public:
  Metrics();

  // manager::Observer
  void OnSwitch(const manager::SwitchReport& report) override;
  void OnStateChange(manager::ModelState state, const std::string& model) override;
  void OnCancel(manager::CancelReason reason) override;
  void OnQueueDepth(size_t depth) override;
  void OnRunning(size_t running) override;
  void OnSubmit(const std::string& model) override;
  void OnFinish(const manager::Outcome& outcome) override;

  // RequestObserver
  void OnRequest(std::string_view route, int status, double ms) override;

  // Values read at each scrape because they change every decode step, too
  // often for an event. Set once before serving; without it they read 0.
  struct Live {
    double kv_usage = 0;  // fraction (0..1) of the loaded model's KV cells in use
    int64_t preemptions = 0;
    uint64_t prompt_cache_bytes = 0;  // the host-RAM prompt cache
    uint64_t standby_bytes = 0;       // weights of switched-out models kept loaded
    uint64_t standby_models = 0;
    std::map<std::string, int64_t> generated_tokens;  // by model, counted every decode step
    uint64_t config_reloads_ok = 0;                   // reloads put in force
    uint64_t config_reloads_failed = 0;               // reloads refused (invalid config)
    std::string loaded_model;                         // ready in the slot; empty when none
    std::string waiting_model;  // a switch target requests wait for; empty when none
  };
  void SetLiveSource(std::function<Live()> source) { live_ = std::move(source); }

  // --metrics-compat vllm: also render the vLLM names the Gateway API
  // Inference Extension's endpoint picker scrapes by default. Set once
  // before serving.
  void SetVllmCompat(bool on) { vllm_compat_ = on; }

  // Every family with HELP and TYPE lines, series sorted by label.
  std::string Render() const;

 private:
  // Buckets hold per-bucket (not cumulative) counts; the last is +Inf.
  struct Histogram {
    std::span<const double> bounds;
    std::vector<uint64_t> buckets;
    double sum = 0;
    uint64_t count = 0;
    explicit Histogram(std::span<const double> b) : bounds(b), buckets(b.size() + 1) {}
    void Observe(double v);
  };
  using HistogramsByModel = std::map<std::string, Histogram>;
  static void Observe(HistogramsByModel& family, std::span<const double> bounds,
                      const std::string& model, double v);
  void RenderVllm(std::string& out, const Live& live) const REQUIRES(mu_);
  static void RenderHistograms(std::string& out, std::string_view name, std::string_view help,
                               const HistogramsByModel& family);

  mutable sync::Mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_ GUARDED_BY(mu_);  // route, status
  std::map<std::string, uint64_t> prompt_tokens_ GUARDED_BY(mu_);             // by model
  std::map<std::string, uint64_t> cached_tokens_ GUARDED_BY(mu_);             // by model
  // Completed embeddings requests, their inputs and tokens, by model.
  std::map<std::string, uint64_t> embedding_requests_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> embedding_inputs_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> embedding_tokens_ GUARDED_BY(mu_);
  uint64_t prompt_cache_hits_ GUARDED_BY(mu_) = 0;
  uint64_t prompt_cache_misses_ GUARDED_BY(mu_) = 0;
  std::map<std::string, double> decode_tps_ GUARDED_BY(mu_);  // by model
  std::map<std::string, uint64_t> switches_ GUARDED_BY(mu_);  // by outcome
  uint64_t standby_hits_ GUARDED_BY(mu_) = 0;                // completed switches that read no file
  std::array<uint64_t, 4> cancellations_ GUARDED_BY(mu_){};  // by CancelReason
  HistogramsByModel load_seconds_ GUARDED_BY(mu_);
  HistogramsByModel switch_seconds_ GUARDED_BY(mu_);
  HistogramsByModel phase_free_seconds_ GUARDED_BY(mu_);
  HistogramsByModel phase_model_seconds_ GUARDED_BY(mu_);
  HistogramsByModel phase_context_seconds_ GUARDED_BY(mu_);
  HistogramsByModel phase_warmup_seconds_ GUARDED_BY(mu_);
  HistogramsByModel ttft_seconds_ GUARDED_BY(mu_);
  manager::ModelState state_ GUARDED_BY(mu_) = manager::ModelState::kEmpty;
  std::string state_model_ GUARDED_BY(mu_);
  size_t queue_depth_ GUARDED_BY(mu_) = 0;
  size_t running_ GUARDED_BY(mu_) = 0;
  std::function<Live()> live_;  // constant once serving; called without mu_
  bool vllm_compat_ = false;    // constant once serving
  int64_t inflight_ GUARDED_BY(mu_) = 0;
};

// GET /metrics.
void RegisterMetricsRoute(Router& router, const Metrics& metrics);

}  // namespace modeld::httpapi
