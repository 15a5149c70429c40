#include "internal/httpapi/event_hub.h"

#include <algorithm>
#include <cmath>

#include "internal/log/log.h"

namespace modeld::httpapi {
namespace {

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

nlohmann::json IdOrNull(const std::string& id) {
  return id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id);
}

}  // namespace

bool EventSubscription::Take(std::string& out) {
  sync::MutexLock lock(hub_->mu_);
  for (const auto& m : queue_) out.append(*m);
  const bool had = !queue_.empty();
  queue_.clear();
  queued_bytes_ = 0;
  if (ended_) return false;
  parked_ = !had;
  return true;
}

void EventSubscription::Cancel() {
  sync::MutexLock lock(hub_->mu_);
  notify_ = nullptr;
  queue_.clear();
  queued_bytes_ = 0;
  ended_ = true;
  std::erase_if(hub_->subs_, [this](const auto& s) { return s.get() == this; });
}

Result<std::shared_ptr<EventSubscription>> EventHub::Subscribe(std::function<void()> notify) {
  sync::MutexLock lock(mu_);
  if (shut_down_) return Status::ShuttingDown("the server is shutting down");
  if (subs_.size() >= options_.max_subscribers) {
    return Status::QueueFull("too many /events subscribers (at most " +
                             std::to_string(options_.max_subscribers) +
                             "); close another page or script first");
  }
  std::shared_ptr<EventSubscription> sub(new EventSubscription(this, std::move(notify)));
  subs_.push_back(sub);
  return sub;
}

void EventHub::Shutdown() {
  sync::MutexLock lock(mu_);
  shut_down_ = true;
  for (const auto& s : subs_) EndLocked(*s);
  subs_.clear();
}

size_t EventHub::subscribers() const {
  sync::MutexLock lock(mu_);
  return subs_.size();
}

void EventHub::EndLocked(EventSubscription& sub) {
  sub.ended_ = true;
  if (sub.parked_ && sub.notify_) {
    sub.parked_ = false;
    sub.notify_();
  }
}

void EventHub::PublishLocked(std::string message) {
  if (subs_.empty()) return;
  auto shared = std::make_shared<const std::string>(std::move(message));
  size_t dropped = 0;
  for (const auto& s : subs_) {
    if (s->queued_bytes_ + shared->size() > options_.max_queued_bytes) {
      // A client that does not read: end its stream rather than buffer
      // without bound or wait for it; it reconnects to a fresh snapshot.
      s->queue_.clear();
      s->queued_bytes_ = 0;
      EndLocked(*s);
      ++dropped;
      continue;
    }
    s->queue_.push_back(shared);
    s->queued_bytes_ += shared->size();
    if (s->parked_ && s->notify_) {
      s->parked_ = false;
      s->notify_();
    }
  }
  if (dropped > 0) {
    std::erase_if(subs_, [](const auto& s) { return s->ended_; });
    log::Warn("/events: dropped subscribers that did not keep up", {{"dropped", dropped}});
  }
}

std::string EventHub::Frame(std::string_view type, const nlohmann::json& data) {
  std::string out = "event: ";
  out.append(type).append("\ndata: ");
  out.append(data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out.append("\n\n");
  return out;
}

nlohmann::json EventHub::History() const {
  sync::MutexLock lock(mu_);
  nlohmann::json switches = nlohmann::json::array();
  for (const auto& s : switches_) switches.push_back(s);
  return {{"switches", std::move(switches)},
          {"requests", {{"finished", finished_}, {"tokens_per_second", last_tps_}}}};
}

void EventHub::OnSwitch(const manager::SwitchReport& r) {
  nlohmann::json data = {{"from", IdOrNull(r.from)},
                         {"to", r.to},
                         {"outcome", r.outcome},
                         {"free_ms", Round3(r.free_ms)},
                         {"model_ms", Round3(r.model_ms)},
                         {"context_ms", Round3(r.context_ms)},
                         {"load_ms", Round3(r.load_ms)},
                         {"warmup_ms", Round3(r.warmup_ms)},
                         {"total_ms", Round3(r.free_ms + r.load_ms + r.warmup_ms)},
                         {"standby", r.from_standby}};
  if (!r.error.empty()) data["error"] = paths_.Redact(r.error);
  std::string message = Frame("switch", data);
  sync::MutexLock lock(mu_);
  switches_.push_back(std::move(data));
  while (switches_.size() > options_.switch_history) switches_.pop_front();
  PublishLocked(std::move(message));
}

void EventHub::OnStateChange(manager::ModelState state, const std::string& model) {
  std::string message =
      Frame("state", {{"state", manager::ModelStateName(state)}, {"model", IdOrNull(model)}});
  sync::MutexLock lock(mu_);
  if (state == manager::ModelState::kLoading) {
    progress_model_ = model;
    progress_percent_ = -1;
  }
  PublishLocked(std::move(message));
}

void EventHub::OnLoadProgress(const std::string& model, float progress) {
  // llama.cpp reports once per tensor: send whole percents only.
  const int percent = std::clamp(static_cast<int>(progress * 100.0f), 0, 100);
  sync::MutexLock lock(mu_);
  if (model == progress_model_ && percent <= progress_percent_) return;
  progress_model_ = model;
  progress_percent_ = percent;
  PublishLocked(Frame("progress", {{"model", model}, {"progress", percent / 100.0}}));
}

void EventHub::OnQueueDepth(size_t depth) {
  sync::MutexLock lock(mu_);
  if (depth == queued_) return;
  queued_ = depth;
  PublishQueueLocked();
}

void EventHub::OnRunning(size_t running) {
  sync::MutexLock lock(mu_);
  if (running == running_) return;
  running_ = running;
  PublishQueueLocked();
}

void EventHub::PublishQueueLocked() {
  PublishLocked(Frame("queue", {{"queued", queued_}, {"running", running_}}));
}

void EventHub::OnFinish(const manager::Outcome& o) {
  const std::string outcome(o.status.ok() ? std::string_view("ok") : o.status.code_name());
  nlohmann::json data = {{"model", IdOrNull(o.model)},
                         {"outcome", outcome},
                         {"prompt_tokens", o.stats.prompt_tokens},
                         {"completion_tokens", o.stats.completion_tokens},
                         {"queue_ms", Round3(o.timings.queue_ms)},
                         {"switch_ms", Round3(o.timings.switch_ms)},
                         {"prompt_ms", Round3(o.timings.prompt_ms)},
                         {"generation_ms", Round3(o.timings.generation_ms)},
                         {"tokens_per_second", Round3(o.timings.tokens_per_second)}};
  if (o.cancel_reason != manager::CancelReason::kNone) {
    data["cancel_reason"] = manager::CancelReasonName(o.cancel_reason);
  }
  std::string message = Frame("request", data);
  sync::MutexLock lock(mu_);
  ++finished_[outcome];
  if (o.stats.completion_tokens > 0 && !o.model.empty()) {
    last_tps_[o.model] = Round3(o.timings.tokens_per_second);
  }
  PublishLocked(std::move(message));
}

}  // namespace modeld::httpapi
