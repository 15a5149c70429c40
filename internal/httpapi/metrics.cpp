#include "internal/httpapi/metrics.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <type_traits>

#include "internal/httpapi/connection.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {
namespace {

using manager::CancelReason;
using manager::ModelState;

// Loads take ~0.1 s for the demo models and seconds for real ones.
constexpr double kLoadBuckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
constexpr double kTtftBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
constexpr ModelState kStates[] = {ModelState::kEmpty, ModelState::kLoading, ModelState::kWarming,
                                  ModelState::kReady, ModelState::kFailed};
constexpr CancelReason kReasons[] = {CancelReason::kSwitch, CancelReason::kDisconnect,
                                     CancelReason::kShutdown};

void AppendNumber(std::string& out, double v) {
  if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (std::isnan(v)) {
    out.append("NaN");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
  out.append(buf, ec == std::errc() ? end : buf);
}

void AppendCount(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ec == std::errc() ? end : buf);
}

// Label values escape backslash, double quote and newline.
void AppendLabelValue(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendFamily(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// name{key="value"} v  (no braces when key is empty)
template <typename V>
void AppendSample(std::string& out, std::string_view name, std::string_view key,
                  std::string_view value, V v) {
  out.append(name);
  if (!key.empty()) {
    out.append("{").append(key).append("=");
    AppendLabelValue(out, value);
    out.append("}");
  }
  out.push_back(' ');
  if constexpr (std::is_floating_point_v<V>) {
    AppendNumber(out, v);
  } else {
    AppendCount(out, static_cast<uint64_t>(v));
  }
  out.push_back('\n');
}

template <typename Map>
void AppendByModel(std::string& out, std::string_view name, const Map& values) {
  for (const auto& [model, v] : values) AppendSample(out, name, "model", model, v);
}

}  // namespace

Metrics::Metrics() = default;

void Metrics::Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  ++buckets[i];
  sum += v;
  ++count;
}

void Metrics::Observe(HistogramsByModel& family, std::span<const double> bounds,
                      const std::string& model, double v) {
  family.try_emplace(model, bounds).first->second.Observe(v);
}

void Metrics::OnSwitch(const manager::SwitchReport& r) {
  sync::MutexLock lock(mu_);
  ++switches_[r.outcome];
  if (r.outcome != "ok") return;  // durations of completed loads only
  if (r.from_standby) ++standby_hits_;
  Observe(load_seconds_, kLoadBuckets, r.to, r.load_ms / 1000.0);
  Observe(switch_seconds_, kLoadBuckets, r.to, (r.load_ms + r.warmup_ms) / 1000.0);
  Observe(phase_free_seconds_, kLoadBuckets, r.to, r.free_ms / 1000.0);
  Observe(phase_model_seconds_, kLoadBuckets, r.to, r.model_ms / 1000.0);
  Observe(phase_context_seconds_, kLoadBuckets, r.to, r.context_ms / 1000.0);
  Observe(phase_warmup_seconds_, kLoadBuckets, r.to, r.warmup_ms / 1000.0);
}

void Metrics::OnStateChange(ModelState state, const std::string& model) {
  sync::MutexLock lock(mu_);
  state_ = state;
  state_model_ = model;
}

void Metrics::OnCancel(CancelReason reason) {
  sync::MutexLock lock(mu_);
  ++cancellations_[static_cast<size_t>(reason)];
}

void Metrics::OnQueueDepth(size_t depth) {
  sync::MutexLock lock(mu_);
  queue_depth_ = depth;
}

void Metrics::OnRunning(size_t running) {
  sync::MutexLock lock(mu_);
  running_ = running;
}

void Metrics::OnSubmit(const std::string& /*model*/) {
  sync::MutexLock lock(mu_);
  ++inflight_;
}

void Metrics::OnFinish(const manager::Outcome& o) {
  sync::MutexLock lock(mu_);
  if (inflight_ > 0) --inflight_;
  if (o.model.empty()) return;
  const auto& s = o.stats;
  if (s.n_embd > 0) {
    // A completed embeddings request: counted apart, so that it neither
    // counts as a prompt-cache miss nor dilutes the prompt tokens.
    ++embedding_requests_[o.model];
    embedding_inputs_[o.model] += s.embeddings.size() / static_cast<size_t>(s.n_embd);
    embedding_tokens_[o.model] += static_cast<uint64_t>(s.prompt_tokens);
    return;
  }
  if (s.prompt_tokens > 0) {
    prompt_tokens_[o.model] += static_cast<uint64_t>(s.prompt_tokens);
    // A request that reached the model: it found a cached prefix or not.
    ++(s.cached_tokens > 0 ? prompt_cache_hits_ : prompt_cache_misses_);
    if (s.cached_tokens > 0) cached_tokens_[o.model] += static_cast<uint64_t>(s.cached_tokens);
  }
  if (s.completion_tokens > 0) {
    const auto& t = o.timings;
    Observe(ttft_seconds_, kTtftBuckets, o.model,
            (t.queue_ms + t.switch_ms + t.prompt_ms) / 1000.0);
    if (t.tokens_per_second > 0) decode_tps_[o.model] = t.tokens_per_second;
  }
}

void Metrics::OnRequest(std::string_view route, int status, double /*ms*/) {
  sync::MutexLock lock(mu_);
  ++requests_[{std::string(route), status}];
}

void Metrics::RenderHistograms(std::string& out, std::string_view name, std::string_view help,
                               const HistogramsByModel& family) {
  AppendFamily(out, name, "histogram", help);
  for (const auto& [model, h] : family) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      out.append(name).append("_bucket{model=");
      AppendLabelValue(out, model);
      out.append(",le=\"");
      AppendNumber(out, i < h.bounds.size() ? h.bounds[i] : INFINITY);
      out.append("\"} ");
      AppendCount(out, cumulative);
      out.push_back('\n');
    }
    AppendSample(out, std::string(name) + "_sum", "model", model, h.sum);
    AppendSample(out, std::string(name) + "_count", "model", model, h.count);
  }
}

std::string Metrics::Render() const {
  const Live live = live_ ? live_() : Live{};  // before taking mu_
  sync::MutexLock lock(mu_);
  std::string out;
  out.reserve(8192);

  AppendFamily(out, "modeld_requests_total", "counter",
               "HTTP requests answered, by route and status (499: the client left).");
  for (const auto& [key, n] : requests_) {
    out.append("modeld_requests_total{route=");
    AppendLabelValue(out, key.first);
    out.append(",status=\"").append(std::to_string(key.second)).append("\"} ");
    AppendCount(out, n);
    out.push_back('\n');
  }

  AppendFamily(out, "modeld_prompt_tokens_total", "counter", "Prompt tokens processed, by model.");
  AppendByModel(out, "modeld_prompt_tokens_total", prompt_tokens_);
  AppendFamily(out, "modeld_prompt_cache_hits_total", "counter",
               "Requests that reused a cached prompt prefix.");
  AppendSample(out, "modeld_prompt_cache_hits_total", "", "", prompt_cache_hits_);
  AppendFamily(out, "modeld_prompt_cache_misses_total", "counter",
               "Requests that found no cached prompt prefix.");
  AppendSample(out, "modeld_prompt_cache_misses_total", "", "", prompt_cache_misses_);
  AppendFamily(out, "modeld_prompt_tokens_cached_total", "counter",
               "Prompt tokens reused from the KV cache instead of decoded, by model.");
  AppendByModel(out, "modeld_prompt_tokens_cached_total", cached_tokens_);
  AppendFamily(out, "modeld_embedding_requests_total", "counter",
               "Completed embeddings requests, by model.");
  AppendByModel(out, "modeld_embedding_requests_total", embedding_requests_);
  AppendFamily(out, "modeld_embedding_inputs_total", "counter",
               "Inputs embedded (one vector each), by model.");
  AppendByModel(out, "modeld_embedding_inputs_total", embedding_inputs_);
  AppendFamily(out, "modeld_embedding_tokens_total", "counter",
               "Tokens of embedded inputs, by model.");
  AppendByModel(out, "modeld_embedding_tokens_total", embedding_tokens_);
  AppendFamily(out, "modeld_prompt_cache_bytes", "gauge",
               "Bytes of KV state kept in host RAM across model switches.");
  AppendSample(out, "modeld_prompt_cache_bytes", "", "", live.prompt_cache_bytes);
  AppendFamily(out, "modeld_standby_bytes", "gauge",
               "Bytes of switched-out models' weights kept loaded (counted against "
               "standby_bytes).");
  AppendSample(out, "modeld_standby_bytes", "", "", live.standby_bytes);
  AppendFamily(out, "modeld_standby_models", "gauge",
               "Switched-out models whose weights are kept loaded.");
  AppendSample(out, "modeld_standby_models", "", "", live.standby_models);
  AppendFamily(out, "modeld_generated_tokens_total", "counter", "Tokens generated, by model.");
  AppendByModel(out, "modeld_generated_tokens_total", live.generated_tokens);

  AppendFamily(out, "modeld_model_info", "gauge",
               "1 for the model the state refers to: ready, loading, warming or failed.");
  if (!state_model_.empty()) AppendSample(out, "modeld_model_info", "model", state_model_, 1);
  AppendFamily(out, "modeld_model_state", "gauge", "1 for the model slot's current state.");
  for (ModelState s : kStates) {
    AppendSample(out, "modeld_model_state", "state", manager::ModelStateName(s),
                 s == state_ ? 1 : 0);
  }

  AppendFamily(out, "modeld_switches_total", "counter",
               "Loads and switches by outcome: ok, failed or aborted.");
  for (const auto& [outcome, n] : switches_) {
    AppendSample(out, "modeld_switches_total", "outcome", outcome, n);
  }
  AppendFamily(out, "modeld_standby_hits_total", "counter",
               "Completed switches whose weights came from standby (no file read).");
  AppendSample(out, "modeld_standby_hits_total", "", "", standby_hits_);
  RenderHistograms(out, "modeld_load_duration_seconds",
                   "Time to read a model and create its context, by model (completed loads).",
                   load_seconds_);
  RenderHistograms(out, "modeld_switch_duration_seconds",
                   "Time from starting a load or switch until ready (load + warm-up), by model.",
                   switch_seconds_);
  RenderHistograms(out, "modeld_switch_free_seconds",
                   "Switch phase: freeing the old model and context, by the model loaded next.",
                   phase_free_seconds_);
  RenderHistograms(out, "modeld_switch_model_load_seconds",
                   "Switch phase: reading the model file (tensors, repacking, vocabulary).",
                   phase_model_seconds_);
  RenderHistograms(out, "modeld_switch_context_seconds",
                   "Switch phase: creating the context (KV cache, compute graphs).",
                   phase_context_seconds_);
  RenderHistograms(out, "modeld_switch_warmup_seconds", "Switch phase: the one-token warm-up.",
                   phase_warmup_seconds_);

  AppendFamily(out, "modeld_queue_depth", "gauge",
               "Requests waiting for admission (same as modeld_num_requests_waiting).");
  AppendSample(out, "modeld_queue_depth", "", "", queue_depth_);
  // The names the Gateway API Inference Extension's endpoint picker reads.
  AppendFamily(out, "modeld_num_requests_waiting", "gauge", "Requests waiting for admission.");
  AppendSample(out, "modeld_num_requests_waiting", "", "", queue_depth_);
  AppendFamily(out, "modeld_num_requests_running", "gauge",
               "Requests decoding together in the model's context.");
  AppendSample(out, "modeld_num_requests_running", "", "", running_);
  AppendFamily(out, "modeld_kv_cache_usage_perc", "gauge",
               "Fraction (0..1) of the loaded model's KV cache cells in use.");
  AppendSample(out, "modeld_kv_cache_usage_perc", "", "", live.kv_usage);
  AppendFamily(out, "modeld_preemptions_total", "counter",
               "Sequences that gave their KV cells back because the cache was full "
               "(recomputed later).");
  AppendSample(out, "modeld_preemptions_total", "", "", live.preemptions);
  AppendFamily(out, "modeld_inflight_requests", "gauge",
               "Inference requests accepted and not finished (queued or generating).");
  AppendSample(out, "modeld_inflight_requests", "", "", inflight_);

  AppendFamily(out, "modeld_cancellations_total", "counter",
               "Requests cancelled, by reason: switch, disconnect or shutdown.");
  for (CancelReason r : kReasons) {
    AppendSample(out, "modeld_cancellations_total", "reason", manager::CancelReasonName(r),
                 cancellations_[static_cast<size_t>(r)]);
  }

  AppendFamily(out, "modeld_config_reloads_total", "counter",
               "Registry reloads (SIGHUP, --watch-config) by outcome: ok, or failed (the new "
               "config was invalid and the old one stayed in force).");
  AppendSample(out, "modeld_config_reloads_total", "outcome", "failed", live.config_reloads_failed);
  AppendSample(out, "modeld_config_reloads_total", "outcome", "ok", live.config_reloads_ok);

  if (vllm_compat_) RenderVllm(out, live);

  RenderHistograms(out, "modeld_time_to_first_token_seconds",
                   "Queue + switch + prompt time of requests that generated, by model.",
                   ttft_seconds_);
  AppendFamily(out, "modeld_decode_tokens_per_second", "gauge",
               "Decode speed of the last request that generated, by model.");
  AppendByModel(out, "modeld_decode_tokens_per_second", decode_tps_);
  return out;
}

void Metrics::RenderVllm(std::string& out, const Live& live) const {
  // The same values as modeld_num_requests_waiting, modeld_num_requests_running
  // and modeld_kv_cache_usage_perc, under the names the endpoint picker
  // reads from pods without an engine label.
  AppendFamily(out, "vllm:num_requests_waiting", "gauge",
               "Requests waiting (alias of modeld_num_requests_waiting).");
  AppendSample(out, "vllm:num_requests_waiting", "", "", queue_depth_);
  AppendFamily(out, "vllm:num_requests_running", "gauge",
               "Requests running (alias of modeld_num_requests_running).");
  AppendSample(out, "vllm:num_requests_running", "", "", running_);
  AppendFamily(out, "vllm:kv_cache_usage_perc", "gauge",
               "KV cache usage, 0..1 (alias of modeld_kv_cache_usage_perc).");
  AppendSample(out, "vllm:kv_cache_usage_perc", "", "", live.kv_usage);
  // vLLM's LoRA info gauge, whose value is the time it was set: the picker
  // reads the loaded model as the one "adapter" running, so requests for
  // it prefer this replica (model affinity) with no router configuration.
  AppendFamily(out, "vllm:lora_requests_info", "gauge",
               "Loaded model (running_lora_adapters) and the model queued requests wait for "
               "(waiting_lora_adapters); the value is the Unix time of this scrape.");
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  out.append("vllm:lora_requests_info{running_lora_adapters=");
  AppendLabelValue(out, live.loaded_model);
  out.append(",waiting_lora_adapters=");
  AppendLabelValue(out, live.waiting_model);
  out.append(",max_lora=\"1\"} ");
  AppendNumber(out, std::floor(now * 1000.0) / 1000.0);
  out.push_back('\n');
}

void RegisterMetricsRoute(Router& router, const Metrics& metrics) {
  router.Add(http::verb::get, "/metrics", [&metrics](const HttpRequest&, const auto& conn) {
    conn->Respond(200, metrics.Render(), kMetricsContentType);
  });
}

}  // namespace modeld::httpapi
