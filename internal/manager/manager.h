#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include "internal/sync/mutex.h"

#include "internal/llm/adapter.h"
#include "internal/manager/admission.h"
#include "internal/manager/observer.h"
#include "internal/manager/request.h"
#include "internal/manager/state.h"
#include "pkg/types/status.h"

namespace modeld::manager {

struct Options {
  size_t max_queue = 64;  // waiting requests; running ones do not count
  // --pin: the one model this replica serves; a request for another is
  // refused with ModelPinned and never switches. Empty: any model.
  std::string pinned;
};

// Owns the one model slot and runs requests on it. A request naming another
// model switches: everything on the old model is cancelled, the old model is
// freed, the new one loaded and warmed up. Requests run together in the
// model's context (its max_sequences()): the worker admits waiting requests
// in arrival order as Admission allows, and drives the model one Step at a
// time, so a new request starts at the next step. A failed load restores the
// previous model.
//
// The catalog can be replaced while serving (a config reload, SetCatalog):
// work already accepted for a model the new catalog lacks finishes, then
// that model is unloaded; a changed entry applies at its next load.
//
// Thread-safety: all public methods are safe to call from any thread. One
// worker thread owns the llm::Model; everything else is guarded by mu_.
class Manager {
 public:
  // `catalog` lists every model that may be loaded (absolute paths).
  Manager(llm::Backend& backend, std::vector<llm::LoadSpec> catalog, Options options,
          Observer* observer);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Starts the worker; when `initial_model` is non-empty it is loaded first.
  void Start(const std::string& initial_model);

  // Queues a request, switching models if it names another one. Never
  // blocks on a load. On error the request was not queued.
  Status Submit(const std::shared_ptr<Request>& request);

  // The client went away (or similar): stop the request's generation, or
  // drop it from the queue. A switch nobody waits for any more is dropped too.
  void Cancel(const std::shared_ptr<Request>& request, CancelReason reason);

  Snapshot GetSnapshot() const;

  // Puts a new catalog in force (a config reload). Requests already queued
  // or running for a model it lacks still finish; the model is unloaded
  // once idle. A switch to such a model that has not started loading is
  // dropped: its queued requests end with model_not_found. `stale` are the
  // ids removed or changed: their standby weights are freed.
  void SetCatalog(std::vector<llm::LoadSpec> catalog, const std::vector<std::string>& stale);

  // Cancels everything with shutting_down, aborts a load, frees the model and
  // joins the worker. Idempotent.
  void Shutdown();

 private:
  void WorkerLoop();
  std::string Target() const;  // target_, under mu_
  bool NeedsSwitchLocked() const REQUIRES(mu_);
  bool CanAdmitLocked() const REQUIRES(mu_);
  bool HasWorkLocked() const REQUIRES(mu_);
  // These three release mu_ for their slow parts and hold it again on return.
  void SwitchLocked() REQUIRES(mu_);
  // Starts waiting requests while Admission lets them; may unlock to tokenize.
  void AdmitLocked() REQUIRES(mu_);
  // One model step (unlocked), then finishes the requests that ended.
  void StepLocked() REQUIRES(mu_);
  void FinishRunningLocked(const std::shared_ptr<Request>& request, Status status) REQUIRES(mu_);
  // Cancels queued and running work because `to` is now wanted.
  void RetargetLocked(const std::string& to, bool requested) REQUIRES(mu_);
  void FinishLocked(const std::shared_ptr<Request>& request, Status status, CancelReason reason)
      REQUIRES(mu_);
  void SetStateLocked(ModelState state, const std::string& model) REQUIRES(mu_);
  // The entry in the current catalog, or null; valid while mu_ is held.
  const llm::LoadSpec* FindSpecLocked(const std::string& id) const REQUIRES(mu_);
  // The loaded model left the catalog and nothing runs or waits on it.
  bool UnloadDueLocked() const REQUIRES(mu_);
  // Releases mu_ while the model is freed; holds it again on return.
  void UnloadLocked() REQUIRES(mu_);
  // The model slot is empty: no loaded id, no sequences, no cells in use.
  void ForgetModelLocked() REQUIRES(mu_);
  // Ends every queued request with `status`.
  void FailQueueLocked(const Status& status) REQUIRES(mu_);

  // Constant after construction.
  llm::Backend& backend_;
  const Options options_;
  Observer* const observer_;  // may be null

  // Touched only by the worker thread.
  llm::ModelPtr model_;
  std::vector<llm::SeqEnd> ended_;  // reused every step
  bool release_pending_ = false;    // a switch freed memory; give it back when idle
  // Admitted (slot, request) whose Start is still to be called.
  std::vector<std::pair<int, std::shared_ptr<Request>>> starting_;

  mutable sync::Mutex mu_;
  sync::CondVar cv_;
  // Replaced whole by SetCatalog; a switch copies its entry under mu_.
  std::shared_ptr<const std::vector<llm::LoadSpec>> catalog_ GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Request>> queue_ GUARDED_BY(mu_);  // all for target_
  // Per sequence slot of the loaded model: the request running there, or null.
  std::vector<std::shared_ptr<Request>> running_ GUARDED_BY(mu_);
  Admission admission_ GUARDED_BY(mu_);
  int kv_cells_used_ GUARDED_BY(mu_) = 0;
  int model_loaded_cells_ GUARDED_BY(mu_) = 0;     // n_ctx when loaded
  int64_t preemptions_ GUARDED_BY(mu_) = 0;        // of models unloaded before
  int64_t model_preemptions_ GUARDED_BY(mu_) = 0;  // of the loaded model
  ModelState state_ GUARDED_BY(mu_) = ModelState::kEmpty;
  std::string loaded_ GUARDED_BY(mu_);             // model_ holds this one, ready
  std::string target_ GUARDED_BY(mu_);             // what the worker works towards
  std::string previous_ GUARDED_BY(mu_);           // last model that became ready
  std::string loading_ GUARDED_BY(mu_);            // being loaded right now
  bool target_requested_ GUARDED_BY(mu_) = false;  // a client asked for target_
  bool restoring_ GUARDED_BY(mu_) = false;         // target_ is a restore after a failure
  std::string last_error_ GUARDED_BY(mu_);
  std::string last_error_model_ GUARDED_BY(mu_);
  // Tokens generated, by model, counted after every step (not only when a
  // request ends), so the counter moves during a long generation.
  std::map<std::string, int64_t> generated_ GUARDED_BY(mu_);
  std::shared_ptr<llm::LoadControl> load_control_ GUARDED_BY(mu_);
  bool shutdown_ GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace modeld::manager
