#include "internal/manager/manager.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace modeld::manager {
namespace {

std::string SwitchMessage(const std::string& to) {
  return "cancelled: switched to model '" + to + "'";
}

}  // namespace

Manager::Manager(llm::Backend& backend, std::vector<llm::LoadSpec> catalog, Options options,
                 Observer* observer)
    : backend_(backend),
      options_(std::move(options)),
      observer_(observer),
      catalog_(std::make_shared<const std::vector<llm::LoadSpec>>(std::move(catalog))) {}

Manager::~Manager() { Shutdown(); }

void Manager::Start(const std::string& initial_model) {
  sync::MutexLock lock(mu_);
  if (worker_.joinable() || shutdown_) return;
  if (!initial_model.empty() && FindSpecLocked(initial_model) != nullptr) {
    target_ = initial_model;
    target_requested_ = false;
  }
  worker_ = std::thread([this] { WorkerLoop(); });
}

const llm::LoadSpec* Manager::FindSpecLocked(const std::string& id) const {
  auto it = std::find_if(catalog_->begin(), catalog_->end(),
                         [&](const llm::LoadSpec& s) { return s.id == id; });
  return it == catalog_->end() ? nullptr : &*it;
}

void Manager::SetCatalog(std::vector<llm::LoadSpec> catalog,
                         const std::vector<std::string>& stale) {
  auto next = std::make_shared<const std::vector<llm::LoadSpec>>(std::move(catalog));
  {
    sync::MutexLock lock(mu_);
    catalog_.swap(next);
    // A switch to a removed model that has not started loading: nothing
    // else can serve its queue. (One loading already finishes, serves its
    // queue, and is unloaded.)
    if (!target_.empty() && target_ != loaded_ && target_ != loading_ &&
        FindSpecLocked(target_) == nullptr) {
      FailQueueLocked(Status::NotFound("model '" + target_ +
                                       "' was removed from the registry by a config reload"));
      target_ = FindSpecLocked(loaded_) != nullptr ? loaded_ : "";
      target_requested_ = false;
      restoring_ = false;
    }
    if (FindSpecLocked(previous_) == nullptr) previous_.clear();  // never restore a removed model
    cv_.NotifyAll();  // the worker may now have an unload to do
  }
  for (const std::string& id : stale) backend_.DropStandby(id);
}

void Manager::FailQueueLocked(const Status& status) {
  for (auto& r : queue_) FinishLocked(r, status, CancelReason::kNone);
  queue_.clear();
  if (observer_) observer_->OnQueueDepth(0);
}

Status Manager::Submit(const std::shared_ptr<Request>& request) {
  // A request that would switch is checked against its model first (its
  // vocabulary, not its weights), so one that cannot run is refused before
  // the switch cancels others' work. Unlocked: it may read the file.
  const std::string& named = request->requested_model();
  std::optional<llm::LoadSpec> precheck;
  {
    sync::MutexLock lock(mu_);
    if (!options_.pinned.empty() && !named.empty() && named != options_.pinned) {
      return Status::ModelPinned("this server serves only model '" + options_.pinned +
                                 "' (--pin); model '" + named + "' is served elsewhere");
    }
    const llm::LoadSpec* spec = FindSpecLocked(named);
    if (spec != nullptr && named != target_) precheck = *spec;
  }
  if (precheck) {
    if (Status st = backend_.Precheck(*precheck, request->params()); !st.ok()) return st;
  }
  sync::MutexLock lock(mu_);
  if (shutdown_) return Status::ShuttingDown("server is shutting down");
  std::string id = request->requested_model();
  if (id.empty()) id = target_;
  if (id.empty()) return Status::NoModel("no model is loaded; name one in the 'model' field");
  if (FindSpecLocked(id) == nullptr) {
    if (request->requested_model().empty()) {
      return Status::NoModel("the current model '" + id +
                             "' was removed from the registry; name one in the 'model' field");
    }
    return Status::NotFound("model '" + id + "' is not in the registry");
  }
  if (request->cancelled()) return request->cancel_status();
  // Joining a load the manager started itself (default model, restore) does
  // not make it a client's: a departed client must not abort it.
  if (id != target_) {
    RetargetLocked(id, /*requested=*/true);
  } else if (load_control_ && load_control_->abort.load()) {
    // Joining a load whose waiters all left: it restarts for this client,
    // so it is a client's switch again, dropped if this one leaves too.
    target_requested_ = true;
  }
  if (queue_.size() >= options_.max_queue) {
    return Status::QueueFull("queue is full (" + std::to_string(options_.max_queue) + ")");
  }
  request->model = id;
  request->enqueued_at = Clock::now();
  queue_.push_back(request);
  if (observer_) observer_->OnSubmit(id);
  if (observer_) observer_->OnQueueDepth(queue_.size());
  cv_.NotifyAll();
  return Status::Ok();
}

void Manager::RetargetLocked(const std::string& to, bool requested) {
  const std::string message = SwitchMessage(to);
  for (auto& r : queue_) FinishLocked(r, Status::Cancelled(message), CancelReason::kSwitch);
  queue_.clear();
  if (observer_) observer_->OnQueueDepth(0);
  for (auto& r : running_) {
    if (r) r->Cancel(CancelReason::kSwitch, Status::Cancelled(message));
  }
  if (load_control_ && loading_ != to) load_control_->abort.store(true);
  target_ = to;
  target_requested_ = requested;
  restoring_ = false;
  cv_.NotifyAll();
}

void Manager::FinishLocked(const std::shared_ptr<Request>& request, Status status,
                           CancelReason reason) {
  Outcome out;
  out.status = std::move(status);
  out.cancel_reason = reason;
  out.model = request->model;
  out.timings.queue_ms = MsSince(request->enqueued_at);
  if (reason != CancelReason::kNone && observer_) observer_->OnCancel(reason);
  if (observer_) observer_->OnFinish(out);
  request->Finish(std::move(out));
}

void Manager::Cancel(const std::shared_ptr<Request>& request, CancelReason reason) {
  sync::MutexLock lock(mu_);
  Status status =
      Status::Cancelled(std::string("cancelled: ") + std::string(CancelReasonName(reason)));
  request->Cancel(reason, status);
  auto it = std::find(queue_.begin(), queue_.end(), request);
  if (it != queue_.end()) {
    queue_.erase(it);
    if (observer_) observer_->OnQueueDepth(queue_.size());
    FinishLocked(request, request->cancel_status(), request->cancel_reason());
  }
  // A switch that only departed clients asked for is not worth finishing.
  // (Queued requests are all for target_; a running one can only be for the
  // model being replaced.) Reloading the previous model is what dropping the
  // switch would lead to anyway, so that one goes on.
  if (target_requested_ && target_ != loaded_ && target_ != previous_ && queue_.empty()) {
    if (loading_.empty()) {
      target_ = loaded_;  // the worker has not started the load: just forget it
    } else if (load_control_) {
      load_control_->abort.store(true);  // the worker restores the previous model
    }
    target_requested_ = false;
  }
}

std::string Manager::Target() const {
  sync::MutexLock lock(mu_);
  return target_;
}

Snapshot Manager::GetSnapshot() const {
  Snapshot s;
  for (const llm::StandbyModel& m : backend_.standby()) s.standby.push_back(m.id);
  s.standby_bytes = backend_.standby_bytes();
  sync::MutexLock lock(mu_);
  s.state = state_;
  s.loaded = loaded_;
  s.target = target_;
  s.progress = load_control_ ? load_control_->progress.load() : 0.0f;
  s.queued = queue_.size();
  s.running = static_cast<size_t>(admission_.running());
  s.kv_cells_used = kv_cells_used_;
  s.preemptions = preemptions_ + model_preemptions_;
  s.kv_cells = model_loaded_cells_;
  s.last_error = last_error_;
  s.generated_tokens = generated_;
  s.last_error_model = last_error_model_;
  return s;
}

void Manager::SetStateLocked(ModelState state, const std::string& model) {
  state_ = state;
  if (observer_) observer_->OnStateChange(state, model);
}

void Manager::Shutdown() {
  {
    sync::MutexLock lock(mu_);
    if (!shutdown_) {
      shutdown_ = true;
      for (auto& r : queue_) {
        FinishLocked(r, Status::ShuttingDown("server is shutting down"), CancelReason::kShutdown);
      }
      queue_.clear();
      for (auto& r : running_) {
        if (r) r->Cancel(CancelReason::kShutdown, Status::ShuttingDown("server is shutting down"));
      }
      if (load_control_) load_control_->abort.store(true);
      cv_.NotifyAll();
    }
  }
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

bool Manager::NeedsSwitchLocked() const { return !target_.empty() && target_ != loaded_; }

bool Manager::CanAdmitLocked() const {
  return !queue_.empty() && !NeedsSwitchLocked() && admission_.has_free_slot();
}

bool Manager::HasWorkLocked() const {
  return shutdown_ || NeedsSwitchLocked() || admission_.running() > 0 || CanAdmitLocked() ||
         UnloadDueLocked();
}

void Manager::WorkerLoop() {
  mu_.lock();
  for (;;) {
    if (release_pending_ && !HasWorkLocked()) {
      // After a switch, once idle: the next load reuses the old model's
      // freed heap (no page faults); what is still free then goes back.
      release_pending_ = false;
      mu_.unlock();
      backend_.ReleaseFreeMemory();
      mu_.lock();
      continue;
    }
    while (!HasWorkLocked()) cv_.Wait(mu_);
    // Running sequences are drained first: a switch or shutdown has
    // cancelled them, and the next step ends them without decoding.
    if (admission_.running() == 0) {
      if (shutdown_) break;
      if (NeedsSwitchLocked()) {
        SwitchLocked();
        continue;
      }
      if (UnloadDueLocked()) {
        UnloadLocked();
        continue;
      }
    }
    if (!shutdown_ && CanAdmitLocked()) AdmitLocked();
    if (admission_.running() > 0) StepLocked();
  }
  mu_.unlock();
  model_.reset();  // free the model on the worker that used it
  mu_.lock();
  loaded_.clear();
  model_loaded_cells_ = 0;
  SetStateLocked(ModelState::kEmpty, "");
  mu_.unlock();
}

void Manager::AdmitLocked() {
  while (CanAdmitLocked()) {
    std::shared_ptr<Request> request = queue_.front();
    if (!request->prompt.has_value()) {
      // Tokenizing takes a while for a long prompt: not under the lock.
      mu_.unlock();
      Result<llm::PreparedPrompt> prepared = model_->Prepare(request->params());
      mu_.lock();
      // Cancelled, or a switch emptied the queue meanwhile: look again.
      if (queue_.empty() || queue_.front() != request) continue;
      if (!prepared.ok()) {
        queue_.pop_front();
        if (observer_) observer_->OnQueueDepth(queue_.size());
        FinishLocked(request, prepared.status(), CancelReason::kNone);
        continue;
      }
      request->prompt = std::move(prepared).value();
    }
    const int seq = admission_.TryAdmit();
    if (seq < 0) break;  // waits for a slot; nobody behind it overtakes it
    queue_.pop_front();
    if (observer_) observer_->OnQueueDepth(queue_.size());
    request->dequeued_at = Clock::now();
    running_[static_cast<size_t>(seq)] = request;
    starting_.emplace_back(seq, request);
  }
  if (starting_.empty()) return;
  if (observer_) observer_->OnRunning(static_cast<size_t>(admission_.running()));
  mu_.unlock();
  for (const auto& [seq, r] : starting_) {
    model_->Start(seq, std::move(*r->prompt), r->params(), *r, r->cancel_flag(), r->stats);
    r->prompt.reset();
  }
  starting_.clear();
  mu_.lock();
}

void Manager::StepLocked() {
  mu_.unlock();
  ended_.clear();
  model_->Step(ended_);
  const int used = model_->used_cells();
  const int64_t preemptions = model_->preemptions();
  mu_.lock();
  kv_cells_used_ = used;
  model_preemptions_ = preemptions;
  for (const auto& r : running_) {
    if (!r) continue;
    generated_[r->model] += r->stats.completion_tokens - r->counted_tokens;
    r->counted_tokens = r->stats.completion_tokens;
  }
  if (ended_.empty()) return;
  for (llm::SeqEnd& e : ended_) {
    std::shared_ptr<Request> request = std::move(running_[static_cast<size_t>(e.seq)]);
    running_[static_cast<size_t>(e.seq)].reset();
    admission_.Release(e.seq);
    if (request) FinishRunningLocked(request, std::move(e.status));
  }
  if (observer_) observer_->OnRunning(static_cast<size_t>(admission_.running()));
  cv_.NotifyAll();
}

void Manager::FinishRunningLocked(const std::shared_ptr<Request>& request, Status status) {
  Outcome out;
  out.model = request->model;
  out.stats = request->stats;
  if (status.code() == Code::kCancelled && request->cancelled()) {
    out.status = request->cancel_status();
    out.cancel_reason = request->cancel_reason();
  } else {
    out.status = std::move(status);
  }
  const llm::GenerateStats& stats = request->stats;
  out.timings.switch_ms = request->switch_ms;
  out.timings.queue_ms =
      std::max(0.0, MsSince(request->enqueued_at, request->dequeued_at) - request->switch_ms);
  out.timings.prompt_ms = stats.prompt_ms;
  out.timings.generation_ms = stats.generation_ms;
  if (stats.generation_ms > 0) {
    out.timings.tokens_per_second = stats.completion_tokens * 1000.0 / stats.generation_ms;
  }
  if (out.cancel_reason != CancelReason::kNone && observer_) observer_->OnCancel(out.cancel_reason);
  if (observer_) observer_->OnFinish(out);
  request->Finish(std::move(out));
}

}  // namespace modeld::manager
