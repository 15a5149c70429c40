// The model slot's lifecycle: switching to the target model (free the old
// one, load, warm up) and unloading one a config reload removed. The worker
// runs these with mu_ held and releases it around the slow parts.
#include <utility>

#include "internal/manager/manager.h"

namespace modeld::manager {

void Manager::SwitchLocked() {
  const std::string to = target_;
  const std::string from = loaded_;
  const llm::LoadSpec* entry = FindSpecLocked(to);
  if (entry == nullptr) {
    // A reload removed the target (a restore of a removed model, say).
    FailQueueLocked(Status::NotFound("model '" + to + "' is not in the registry"));
    target_.clear();
    target_requested_ = false;
    restoring_ = false;
    return;
  }
  const llm::LoadSpec spec = *entry;  // the catalog may change while this loads
  const bool restoring = restoring_;
  auto control = std::make_shared<llm::LoadControl>();
  if (observer_) {
    control->on_progress = [observer = observer_, to](float p) { observer->OnLoadProgress(to, p); };
  }
  load_control_ = control;
  loading_ = to;
  SetStateLocked(ModelState::kLoading, to);
  mu_.unlock();

  const auto t0 = Clock::now();
  model_.reset();  // exactly one context: free the old model before loading
  {
    sync::MutexLock relock(mu_);
    ForgetModelLocked();
  }
  const auto freed = Clock::now();
  Result<llm::ModelPtr> loaded = backend_.Load(spec, *control);
  const auto t1 = Clock::now();
  Status status = loaded.status();
  if (status.ok()) {
    {
      sync::MutexLock relock(mu_);
      SetStateLocked(ModelState::kWarming, to);
    }
    status = loaded.value()->Warmup(control->abort);
  }
  const auto t2 = Clock::now();
  llm::ModelPtr fresh;
  if (loaded.ok()) {
    fresh = std::move(loaded).value();
    if (!status.ok()) fresh.reset();  // a failed warm-up: free it before taking the lock
  }

  mu_.lock();
  release_pending_ = true;
  loading_.clear();
  load_control_.reset();
  SwitchReport report{from, to, MsSince(freed, t1), MsSince(t1, t2), "ok", ""};
  report.free_ms = MsSince(t0, freed);
  report.model_ms = control->model_ms;
  report.context_ms = control->context_ms;
  report.from_standby = control->from_standby;
  if (status.ok()) {
    model_ = std::move(fresh);
    admission_.Reset(model_->max_sequences());
    running_.assign(static_cast<size_t>(model_->max_sequences()), nullptr);
    model_loaded_cells_ = model_->n_ctx();
    kv_cells_used_ = 0;
    loaded_ = to;
    previous_ = to;
    restoring_ = false;
    last_error_.clear();
    last_error_model_.clear();
    for (auto& r : queue_) r->switch_ms = MsSince(t0, t2);
    SetStateLocked(ModelState::kReady, to);
    if (observer_) observer_->OnSwitch(report);
    return;
  }
  if (status.code() == Code::kCancelled) {
    report.outcome = "aborted";
    report.error = shutdown_       ? "shutting down"
                   : target_ != to ? "superseded by '" + target_ + "'"
                                   : "no client waits for it";
    if (observer_) observer_->OnSwitch(report);
    if (shutdown_ || target_ != to) return;  // the worker moves on to the new target
    // Asked for again after the abort was set (it cannot be unset): load it again.
    if (!queue_.empty()) return;
    // Nobody wants `to` any more: go back to what was there.
    target_ = previous_ != to ? previous_ : "";
    target_requested_ = false;
    restoring_ = true;
    SetStateLocked(target_.empty() ? ModelState::kEmpty : ModelState::kLoading, target_);
    return;
  }
  report.outcome = "failed";
  report.error = status.message();
  last_error_ = status.message();
  last_error_model_ = to;
  if (observer_) observer_->OnSwitch(report);
  if (target_ != to) return;  // superseded meanwhile; the queue belongs to the new target
  for (auto& r : queue_) {
    FinishLocked(r, Status::LoadFailed("loading model '" + to + "' failed: " + status.message()),
                 CancelReason::kNone);
  }
  queue_.clear();
  if (observer_) observer_->OnQueueDepth(0);
  SetStateLocked(ModelState::kFailed, to);
  // Restore the previous model so the service returns to ready.
  if (!restoring && !previous_.empty() && previous_ != to) {
    target_ = previous_;
    restoring_ = true;
  } else {
    target_.clear();
  }
  target_requested_ = false;
}

bool Manager::UnloadDueLocked() const {
  // target_ is empty when a reload removed both the loaded model and the
  // one a pending switch was for.
  return !loaded_.empty() && (target_ == loaded_ || target_.empty()) && queue_.empty() &&
         admission_.running() == 0 && FindSpecLocked(loaded_) == nullptr;
}

void Manager::UnloadLocked() {
  const std::string id = loaded_;
  target_.clear();
  if (previous_ == id) previous_.clear();
  ForgetModelLocked();
  SetStateLocked(ModelState::kEmpty, "");
  release_pending_ = true;
  mu_.unlock();
  model_.reset();
  backend_.DropStandby(id);  // freeing may have put its weights there
  mu_.lock();
}

void Manager::ForgetModelLocked() {
  loaded_.clear();
  preemptions_ += model_preemptions_;
  model_preemptions_ = 0;
  admission_.Reset(0);
  running_.clear();
  model_loaded_cells_ = 0;
  kv_cells_used_ = 0;
}

}  // namespace modeld::manager
