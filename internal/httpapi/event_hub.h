#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include "internal/sync/mutex.h"

#include <nlohmann/json.hpp>

#include "internal/httpapi/client_paths.h"
#include "internal/manager/observer.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

class EventHub;

// One GET /events client's queue of framed SSE messages. The hub appends
// (on the manager's threads); the client's stream takes (on the io thread).
// Thread-safety: every method is safe from any thread (the hub's mutex).
class EventSubscription {
 public:
  // Appends every queued message to `out`. Returns false once the
  // subscription has ended (hub shut down, or this client fell too far
  // behind): the stream then ends its response. When nothing was queued it
  // parks: the notify callback runs on the next message or the end.
  bool Take(std::string& out);
  // The client is gone: stop queueing for it. Idempotent.
  void Cancel();

 private:
  friend class EventHub;
  EventSubscription(EventHub* hub, std::function<void()> notify)
      : hub_(hub), notify_(std::move(notify)) {}

  EventHub* const hub_;
  // Guarded by hub_->mu_.
  std::function<void()> notify_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;
  bool parked_ = false;
  bool ended_ = false;
};

// Fans the manager's state changes out to GET /events subscribers as
// Server-Sent Events (docs/api.md, "Events"), and keeps a short history (the
// last switches, request counts) for the snapshot a new subscriber gets
// first. Observer calls only format a small JSON and append it to bounded
// queues: the manager is never blocked by a client. A subscriber whose queue
// would exceed max_queued_bytes is ended (its client reconnects and gets a
// fresh snapshot).
// Thread-safety: every method is safe from any thread; mu_ is never held
// while calling into the manager (the manager may hold its own mutex while
// calling the observer methods).
class EventHub final : public manager::Observer {
 public:
  struct Options {
    size_t max_subscribers = 32;
    size_t max_queued_bytes = 256 * 1024;  // per subscriber
    size_t switch_history = 10;            // switches kept for the snapshot
  };
  // Error messages in events go through `paths` (no model paths by default).
  explicit EventHub(Options options, ClientPaths paths = {})
      : options_(options), paths_(std::move(paths)) {}
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Registers a subscriber; `notify` must not block (it posts to the io
  // thread). QueueFull beyond max_subscribers, ShuttingDown after Shutdown.
  Result<std::shared_ptr<EventSubscription>> Subscribe(std::function<void()> notify);
  // Ends every subscription and refuses new ones (before the server stops,
  // so no /events response holds the shutdown up).
  void Shutdown();
  size_t subscribers() const;

  // What the snapshot adds to the manager's state: "switches" (the last
  // ones, oldest first) and "requests" (finished requests by outcome, the
  // last decode rate per model).
  nlohmann::json History() const;

  // One SSE message: "event: <type>\ndata: <json>\n\n".
  static std::string Frame(std::string_view type, const nlohmann::json& data);

  // manager::Observer
  void OnSwitch(const manager::SwitchReport& report) override;
  void OnStateChange(manager::ModelState state, const std::string& model) override;
  void OnLoadProgress(const std::string& model, float progress) override;
  void OnQueueDepth(size_t depth) override;
  void OnRunning(size_t running) override;
  void OnFinish(const manager::Outcome& outcome) override;

 private:
  friend class EventSubscription;
  // Queues `message` for every subscriber.
  void PublishLocked(std::string message) REQUIRES(mu_);
  void EndLocked(EventSubscription& sub) REQUIRES(mu_);
  void PublishQueueLocked() REQUIRES(mu_);

  const Options options_;
  const ClientPaths paths_;
  mutable sync::Mutex mu_;
  std::vector<std::shared_ptr<EventSubscription>> subs_ GUARDED_BY(mu_);
  bool shut_down_ GUARDED_BY(mu_) = false;
  std::deque<nlohmann::json> switches_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> finished_ GUARDED_BY(mu_);  // by outcome
  std::map<std::string, double> last_tps_ GUARDED_BY(mu_);    // by model
  size_t queued_ GUARDED_BY(mu_) = 0;
  size_t running_ GUARDED_BY(mu_) = 0;
  std::string progress_model_ GUARDED_BY(mu_);
  int progress_percent_ GUARDED_BY(mu_) = -1;  // last one sent
};

}  // namespace modeld::httpapi
