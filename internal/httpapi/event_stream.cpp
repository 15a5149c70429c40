#include "internal/httpapi/event_stream.h"

#include <charconv>

#include <boost/asio/post.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/native_api.h"

namespace modeld::httpapi {
namespace {

nlohmann::json IdOrNull(const std::string& id) {
  return id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id);
}

// The first event: everything a page needs to draw itself, so it never polls.
nlohmann::json SnapshotJson(const ApiContext& ctx, const EventHub& hub) {
  const manager::Snapshot s = ctx.manager.GetSnapshot();
  nlohmann::json j = {{"state", manager::ModelStateName(s.state)},
                      {"loaded", IdOrNull(s.loaded)},
                      {"target", IdOrNull(s.target)},
                      {"progress", s.progress},
                      {"queued", s.queued},
                      {"running", s.running},
                      {"kv_cells_used", s.kv_cells_used},
                      {"kv_cells", s.kv_cells},
                      {"standby", s.standby},
                      {"generated_tokens", s.generated_tokens},
                      {"models", ModelList(ctx, s)}};
  if (!s.last_error.empty()) {
    j["last_error"] = ctx.paths.Redact(s.last_error);
    j["last_error_model"] = IdOrNull(s.last_error_model);
  }
  j.update(hub.History());
  return j;
}

void Events(ApiContext& ctx, EventHub& hub, std::chrono::seconds heartbeat, const HttpRequest& req,
            const std::shared_ptr<Connection>& conn) {
  if (req.method() == http::verb::head) {
    conn->AddHeader(http::field::cache_control, "no-cache");
    conn->Respond(200, "", "text/event-stream; charset=utf-8");
    return;
  }
  auto stream = std::make_shared<EventStream>(conn, ctx.executor, heartbeat);
  // Subscribe first, then take the snapshot: an event in between is both in
  // the snapshot and queued after it, which a client applies harmlessly.
  auto sub = hub.Subscribe(stream->Notifier());
  if (!sub.ok()) {
    conn->log().fields["outcome"] = sub.status().code_name();
    conn->Respond(HttpStatusFor(sub.status()), NativeErrorBody(sub.status()), "application/json",
                  RetryAfterFor(sub.status()));
    return;
  }
  stream->Start(std::move(sub).value(), EventHub::Frame("snapshot", SnapshotJson(ctx, hub)));
}

}  // namespace

EventStream::EventStream(std::shared_ptr<Connection> conn, asio::any_io_executor executor,
                         std::chrono::seconds heartbeat)
    : conn_(std::move(conn)),
      executor_(executor),
      heartbeat_timer_(executor),
      heartbeat_(heartbeat) {
  chunked_ = conn_->http_version() >= 11;
}

std::function<void()> EventStream::Notifier() {
  // Weak: the subscription must not keep a finished stream alive.
  return [weak = weak_from_this(), executor = executor_] {
    asio::post(executor, [weak] {
      if (auto self = weak.lock()) self->Pump();
    });
  };
}

void EventStream::Start(std::shared_ptr<EventSubscription> sub, const std::string& first) {
  sub_ = std::move(sub);
  conn_->BeginStream(shared_from_this());
  out_.append(conn_->http_version() >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n");
  out_.append("Server: modeld/" MODELD_VERSION
              "\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-cache\r\n"
              "X-Accel-Buffering: no\r\n");
  for (const auto& [name, value] : conn_->added_headers()) {
    out_.append(name).append(": ").append(value).append("\r\n");
  }
  if (chunked_) out_.append("Transfer-Encoding: chunked\r\n");
  // The stream ends only with a close, so the connection is not reused.
  out_.append("Connection: close\r\n\r\n");
  // "retry": how long an EventSource waits before it reconnects.
  AppendChunk("retry: 2000\n" + first);
  ArmHeartbeat();
  Write();
}

void EventStream::OnPeerGone() {
  if (!writing_) Finish();  // else OnWritten(false) follows
}

void EventStream::OnWritten(bool ok) {
  writing_ = false;
  out_.clear();
  if (!ok || final_written_) {
    Finish();
    return;
  }
  Pump();
}

void EventStream::Pump() {
  if (done_ || writing_) return;
  taken_.clear();
  const bool open = sub_->Take(taken_);
  if (!taken_.empty()) AppendChunk(taken_);
  if (!open) {
    if (chunked_) out_.append("0\r\n\r\n");
    final_written_ = true;
  }
  if (out_.empty()) {
    if (final_written_) Finish();  // HTTP/1.0: the close ends the body
    return;                        // else parked: the notifier pumps again
  }
  Write();
}

void EventStream::AppendChunk(const std::string& data) {
  if (!chunked_) {
    out_.append(data);
    return;
  }
  char hex[16];
  auto [end, ec] = std::to_chars(hex, hex + sizeof(hex), data.size(), 16);
  out_.append(hex, end).append("\r\n").append(data).append("\r\n");
}

void EventStream::Write() {
  if (conn_->peer_gone()) {
    Finish();
    return;
  }
  writing_ = true;
  conn_->WriteStream(out_);  // out_ stays untouched until OnWritten
}

void EventStream::ArmHeartbeat() {
  heartbeat_timer_.expires_after(heartbeat_);
  heartbeat_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->done_) return;
    if (!self->writing_) {
      self->AppendChunk(": ping\n\n");
      self->Write();
    }
    self->ArmHeartbeat();
  });
}

void EventStream::Finish() {
  if (done_) return;
  done_ = true;
  heartbeat_timer_.cancel();
  if (sub_) sub_->Cancel();
  conn_->EndStream(200, false);
}

void RegisterEventsRoute(Router& router, ApiContext& ctx, EventHub& hub,
                         std::chrono::seconds heartbeat) {
  router.Add(http::verb::get, "/events",
             [&ctx, &hub, heartbeat](const HttpRequest& req, const auto& conn) {
               Events(ctx, hub, heartbeat, req, conn);
             });
}

}  // namespace modeld::httpapi
