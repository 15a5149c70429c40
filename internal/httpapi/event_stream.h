#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "internal/httpapi/api_context.h"
#include "internal/httpapi/connection.h"
#include "internal/httpapi/event_hub.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {

// One GET /events response: a snapshot event, then whatever the hub queues
// for this subscriber, framed as chunks; a comment line every `heartbeat`
// while nothing else is sent, so proxies keep the connection open. Ends when
// the client goes, or the hub ends the subscription (shutdown, a client too
// slow to keep up).
// Thread-safety: runs on the io thread; the hub's notify only posts to it.
class EventStream final : public StreamingResponder,
                          public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(std::shared_ptr<Connection> conn, asio::any_io_executor executor,
              std::chrono::seconds heartbeat);

  // What the hub's subscription should call when it has news.
  std::function<void()> Notifier();
  // Sends the response head and `first` (the snapshot), then streams `sub`.
  void Start(std::shared_ptr<EventSubscription> sub, const std::string& first);

  void OnPeerGone() override;
  void OnWritten(bool ok) override;

 private:
  void Pump();
  void AppendChunk(const std::string& data);
  void Write();
  void ArmHeartbeat();
  void Finish();

  std::shared_ptr<Connection> conn_;
  asio::any_io_executor executor_;
  asio::steady_timer heartbeat_timer_;
  const std::chrono::seconds heartbeat_;
  std::shared_ptr<EventSubscription> sub_;
  std::string taken_;  // messages taken from the subscription
  std::string out_;    // bytes of one write
  bool chunked_ = true;
  bool writing_ = false;
  bool final_written_ = false;
  bool done_ = false;
};

// GET /events (docs/api.md, "Events").
void RegisterEventsRoute(Router& router, ApiContext& ctx, EventHub& hub,
                         std::chrono::seconds heartbeat = std::chrono::seconds(15));

}  // namespace modeld::httpapi
