#include "internal/httpapi/infer_exchange.h"

#include <charconv>

#include <boost/asio/post.hpp>

#include "internal/httpapi/error_mapping.h"

namespace modeld::httpapi {

// Posted by the worker thread when the request has news. Its memory comes
// from the exchange's slot: at most one is ever outstanding, because the
// request notifies only a parked consumer.
struct InferExchange::PumpHandler {
  std::shared_ptr<InferExchange> self;
  using allocator_type = SlotAllocator<void>;
  allocator_type get_allocator() const noexcept { return allocator_type(&self->slot_); }
  void operator()() { self->Pump(); }
};

InferExchange::InferExchange(std::shared_ptr<Connection> conn, manager::Manager& manager,
                             const ClientPaths& paths, StreamFormatPtr format, bool stream,
                             asio::io_context::executor_type executor)
    : conn_(std::move(conn)),
      manager_(manager),
      paths_(paths),
      format_(std::move(format)),
      stream_(stream),
      executor_(std::move(executor)) {
  text_.reserve(4096);
  body_.reserve(8192);
  out_.reserve(8192);
  chunked_ = conn_->http_version() >= 11;
}

void InferExchange::Start(std::shared_ptr<manager::Request> request) {
  request_ = std::move(request);
  // The callback owns the exchange until the request finishes (Take then drops it).
  request_->SetNotify(
      [self = shared_from_this()] { asio::post(self->executor_, PumpHandler{self}); });
  Status status = manager_.Submit(request_);
  if (!status.ok()) {
    request_->SetNotify(nullptr);
    conn_->log().fields["outcome"] = status.code_name();
    if (!request_->requested_model().empty())
      conn_->log().fields["model"] = request_->requested_model();
    done_ = true;
    conn_->Respond(HttpStatusFor(status), format_->ErrorBody(paths_.Redact(status)),
                   "application/json", RetryAfterFor(status));
    return;
  }
  conn_->BeginStream(shared_from_this());
  Pump();
}

void InferExchange::OnPeerGone() {
  if (request_ && !done_) manager_.Cancel(request_, manager::CancelReason::kDisconnect);
}

void InferExchange::OnWritten(bool ok) {
  writing_ = false;
  if (!ok) {
    OnPeerGone();
  }
  if (final_written_) {
    done_ = true;
    // Without chunked framing (HTTP/1.0) only the close ends the body.
    conn_->EndStream(200, chunked_);
    return;
  }
  Pump();
}

void InferExchange::Pump() {
  if (done_ || writing_) return;  // OnWritten pumps again
  out_.clear();
  for (;;) {
    const manager::Request::Update u = request_->Take(text_);
    const bool got_text = !text_.empty();
    if (u.started && stream_ && !conn_->peer_gone()) AppendHeaders();
    if (got_text) {
      if (stream_) {
        body_.clear();
        format_->AppendText(body_, text_);
        AppendFramed();
      } else {
        full_text_.append(text_);
      }
      text_.clear();
    }
    if (u.finished) {
      Finish();
      return;
    }
    if (!out_.empty()) {
      Write();
      return;
    }
    // Take parked us when it had nothing; otherwise what it had produced no
    // bytes (stream:false) and there may be more already.
    if (!u.started && !got_text) return;
  }
}

void InferExchange::Finish() {
  const manager::Outcome& o = request_->outcome();
  auto& fields = conn_->log().fields;
  fields["model"] = o.model;
  fields["prompt_tokens"] = o.stats.prompt_tokens;
  fields["cached_tokens"] = o.stats.cached_tokens;  // prompt tokens not decoded again
  fields["cache"] = o.stats.cached_tokens == 0 ? "none"
                    : o.stats.cache_from_host  ? "host"
                                               : "context";
  fields["completion_tokens"] = o.stats.completion_tokens;
  fields["outcome"] = o.status.ok() ? std::string_view("ok") : o.status.code_name();
  if (o.cancel_reason != manager::CancelReason::kNone) {
    fields["cancel_reason"] = manager::CancelReasonName(o.cancel_reason);
  }
  if (conn_->peer_gone()) {
    done_ = true;
    conn_->EndStream(499, false);
    return;
  }
  if (!headers_sent_) {
    // Nothing is on the wire yet: the outcome gets a real HTTP status.
    done_ = true;
    if (o.status.ok()) {
      conn_->Respond(200, format_->CompleteBody(o, full_text_), "application/json");
    } else {
      conn_->Respond(HttpStatusFor(o.status), format_->ErrorBody(paths_.Redact(o.status)),
                     "application/json", RetryAfterFor(o.status));
    }
    return;
  }
  body_.clear();
  if (o.status.ok()) {
    format_->AppendDone(body_, o);
  } else {
    format_->AppendError(body_, paths_.Redact(o.status));
  }
  AppendFramed();
  if (chunked_) out_.append("0\r\n\r\n");
  final_written_ = true;
  Write();
}

void InferExchange::AppendHeaders() {
  headers_sent_ = true;
  out_.append(conn_->http_version() >= 11 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.0 200 OK\r\n");
  out_.append("Server: modeld/" MODELD_VERSION "\r\nContent-Type: ");
  out_.append(format_->content_type());
  out_.append("\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n");
  for (const auto& [name, value] : conn_->added_headers()) {
    out_.append(name).append(": ").append(value).append("\r\n");
  }
  if (chunked_) {
    out_.append("Transfer-Encoding: chunked\r\n");
    out_.append(conn_->keep_alive() ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
  } else {
    out_.append("Connection: close\r\n");
  }
  out_.append("\r\n");
}

void InferExchange::AppendFramed() {
  // A format may hold text back (a tool reply); an empty chunk would end
  // the chunked body.
  if (body_.empty()) return;
  if (!chunked_) {
    out_.append(body_);
    return;
  }
  char hex[16];
  auto [end, ec] = std::to_chars(hex, hex + sizeof(hex), body_.size(), 16);
  out_.append(hex, end).append("\r\n").append(body_).append("\r\n");
}

void InferExchange::Write() {
  if (out_.empty()) return;
  if (conn_->peer_gone()) {
    // Nobody reads any more: drop the bytes, but keep taking from the request
    // until it finishes, or the exchange would never end.
    out_.clear();
    if (final_written_) {
      OnWritten(false);
    } else {
      Pump();
    }
    return;
  }
  writing_ = true;
  conn_->WriteStream(out_);
}

}  // namespace modeld::httpapi
