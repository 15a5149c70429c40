#include "internal/httpapi/connection.h"

#include <cmath>

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/router.h"
#include "internal/log/log.h"

namespace modeld::httpapi {
namespace {

// Pipelined bytes kept while a response is in progress. More than this
// closes the connection after the response instead of buffering without end;
// reading goes on, so a disconnect is still seen at once.
constexpr size_t kMaxReadAhead = 64 << 10;
constexpr size_t kReadAheadChunk = 4096;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

bool IsHttpError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

}  // namespace

// A response and its serializer, kept alive until the write completes.
struct Connection::Outgoing {
  http::response<http::string_body> message;
  std::optional<http::response_serializer<http::string_body>> serializer;
};

Connection::Connection(tcp::socket socket, const Router& router, const Limits& limits,
                       std::shared_ptr<ConnectionCounters> counters)
    : socket_(std::move(socket)),
      router_(router),
      limits_(limits),
      counters_(std::move(counters)),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()) {}

Connection::~Connection() {
  SetBusy(false);
  ReleaseBody();
}

void Connection::Start() {
  SetPhase(Phase::kIdle);
  // A new client has header_timeout for its first byte, as for the rest of
  // its header: an idle keep-alive allowance would only help slowloris.
  ArmRead(limits_.header_timeout_s);
  ReadAhead();
}

void Connection::Close() {
  if (closed_) return;
  MarkPeerGone();
  closed_ = true;
  SetBusy(false);
  ReleaseBody();
  DisarmRead();
  DisarmWrite();
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void Connection::SetPhase(Phase phase) {
  phase_ = phase;
  if (phase == Phase::kIdle) idle_since_ = std::chrono::steady_clock::now();
  SetBusy(phase == Phase::kHandling && !closed_);
}

void Connection::SetBusy(bool busy) {
  if (busy == busy_) return;
  busy_ = busy;
  counters_->busy.fetch_add(busy ? 1 : -1, std::memory_order_relaxed);
}

// ---- reading

// One read_some outstanding outside header and body reads: it waits for the
// next request (kIdle), watches for a disconnect and keeps pipelined bytes
// (kHandling), or drains before a close (kLinger).
void Connection::ReadAhead() {
  if (read_ahead_pending_ || closed_) return;
  read_ahead_pending_ = true;
  socket_.async_read_some(
      buffer_.prepare(kReadAheadChunk),
      [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnReadAhead(ec, n); });
}

void Connection::OnReadAhead(beast::error_code ec, size_t n) {
  read_ahead_pending_ = false;
  if (closed_) return;
  if (!ec) {
    buffer_.commit(n);
    switch (phase_) {
      case Phase::kIdle:
        StartHeader();
        return;
      case Phase::kHandling:
        if (discard_read_ahead_ || buffer_.size() > kMaxReadAhead) {
          discard_read_ahead_ = true;
          keep_alive_ = false;
          buffer_.consume(buffer_.size());
        }
        ReadAhead();
        return;
      case Phase::kLinger:
        buffer_.consume(buffer_.size());
        ReadAhead();
        return;
      case Phase::kHeader:
      case Phase::kBody:
        return;  // not reached: header and body reads start only when none is pending
    }
  }
  if (ec == asio::error::operation_aborted && phase_ == Phase::kIdle) {
    StartHeader();  // NextRequest cancelled it to parse bytes already buffered
    return;
  }
  if (phase_ == Phase::kHandling) {
    MarkPeerGone();  // the responder ends the exchange
    return;
  }
  Close();
}

void Connection::StartHeader() {
  SetPhase(Phase::kHeader);
  ArmRead(limits_.header_timeout_s);
  method_ = "-";
  path_.clear();
  version_ = 11;
  keep_alive_ = true;
  head_ = false;
  body_timed_out_ = false;
  discard_read_ahead_ = false;
  headers_.clear();
  log_ = RequestLog{};
  parser_.emplace();
  parser_->body_limit(limits_.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  http::async_read_header(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Connection::OnHeader(beast::error_code ec) {
  if (closed_) return;
  TakeRequestLine();  // also after an error: a 413 or 400 is logged under this request
  if (ec) {
    OnReadError(ec);
    return;
  }
  const HttpRequest& request = parser_->get();
  keep_alive_ = request.keep_alive();
  head_ = request.method() == http::verb::head;
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  SetPhase(Phase::kBody);
  ArmRead(limits_.body_timeout_s);
  auto expect = request.find(http::field::expect);
  if (expect != request.end() && request.version() >= 11 &&
      beast::iequals(expect->value(), "100-continue")) {
    SendContinue();
    return;
  }
  ReadBody();
}

void Connection::TakeRequestLine() {
  const HttpRequest& request = parser_->get();
  if (!request.method_string().empty()) method_ = std::string(request.method_string());
  const std::string_view target = request.target();
  if (!target.empty()) path_ = std::string(target.substr(0, target.find('?')));
  if (request.version() == 10 || request.version() == 11) version_ = request.version();
}

void Connection::SendContinue() {
  ArmWrite();
  asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->DisarmWrite();
                      if (self->closed_) return;
                      if (ec) {
                        self->Close();
                        return;
                      }
                      self->ReadBody();
                    });
}

// The body is read piece by piece, so that what incomplete bodies hold
// together stays within max_pending_body_bytes.
void Connection::ReadBody() {
  http::async_read_some(
      socket_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
}

void Connection::OnBody(beast::error_code ec) {
  if (closed_) return;
  if (ec && body_timed_out_) {
    RejectAndClose(Status::RequestTimeout("request body not received within " +
                                          std::to_string(limits_.body_timeout_s) + " s"));
    return;
  }
  if (ec) {
    OnReadError(ec);
    return;
  }
  if (!AccountBody()) {
    RejectAndClose(Status::QueueFull("request bodies being received exceed " +
                                     std::to_string(limits_.max_pending_body_bytes) +
                                     " bytes together; retry later"));
    return;
  }
  if (!parser_->is_done()) {
    ReadBody();
    return;
  }
  Dispatch();
}

bool Connection::AccountBody() {
  const size_t now = parser_->get().body().size();
  counters_->pending_body_bytes.fetch_add(now - body_accounted_, std::memory_order_relaxed);
  body_accounted_ = now;
  return counters_->pending_body_bytes.load(std::memory_order_relaxed) <=
         limits_.max_pending_body_bytes;
}

void Connection::ReleaseBody() {
  counters_->pending_body_bytes.fetch_sub(body_accounted_, std::memory_order_relaxed);
  body_accounted_ = 0;
}

void Connection::OnReadError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    RejectAndClose(Status::TooLarge("request body exceeds " +
                                    std::to_string(limits_.max_body_bytes) + " bytes"));
    return;
  }
  if (IsHttpError(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    RejectAndClose(Status::InvalidRequest("malformed HTTP request: " + ec.message()));
    return;
  }
  Close();  // EOF, reset, or a header deadline: nobody to answer
}

void Connection::Dispatch() {
  ReleaseBody();  // complete: the request's memory is the handler's now
  DisarmRead();
  SetPhase(Phase::kHandling);
  started_ = std::chrono::steady_clock::now();
  router_.Dispatch(parser_->get(), shared_from_this());
}

// ---- writing

void Connection::RejectAndClose(const Status& status) {
  // The rest of the request cannot be trusted: answer, then drain and close.
  ReleaseBody();
  DisarmRead();
  keep_alive_ = false;
  head_ = false;
  started_ = std::chrono::steady_clock::now();
  Respond(HttpStatusFor(status), NativeErrorBody(status), "application/json",
          RetryAfterFor(status));
}

void Connection::AddHeader(http::field name, std::string value) {
  headers_.emplace_back(std::string(http::to_string(name)), std::move(value));
}

void Connection::Respond(int status, std::string body, std::string_view content_type,
                         int retry_after_s) {
  if (closed_) return;
  responder_.reset();
  auto out = std::make_shared<Outgoing>();
  auto& res = out->message;
  res.result(static_cast<http::status>(status));
  res.version(version_);
  res.set(http::field::server, "modeld/" MODELD_VERSION);
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  if (retry_after_s > 0) res.set(http::field::retry_after, std::to_string(retry_after_s));
  for (const auto& [name, value] : headers_) res.set(name, value);
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();  // a HEAD answer keeps the Content-Length of the GET
  out->serializer.emplace(res);
  response_ = out;
  auto done = [self = shared_from_this(), status](beast::error_code ec, size_t) {
    self->DisarmWrite();
    self->response_.reset();
    self->LogRequest(ec ? 499 : status);
    if (ec || self->peer_gone_ || self->closed_) {
      self->Close();
      return;
    }
    if (!self->keep_alive_) {
      self->Linger();
      return;
    }
    self->NextRequest();
  };
  ArmWrite();
  if (head_) {
    http::async_write_header(socket_, *out->serializer, std::move(done));
  } else {
    http::async_write(socket_, *out->serializer, std::move(done));
  }
}

void Connection::BeginStream(std::shared_ptr<StreamingResponder> responder) {
  responder_ = std::move(responder);
  ReadAhead();
}

// Completes one WriteStream; its operation lives in stream_write_slot_.
struct Connection::StreamWritten {
  std::shared_ptr<Connection> self;
  using allocator_type = SlotAllocator<void>;
  allocator_type get_allocator() const noexcept {
    return allocator_type(&self->stream_write_slot_);
  }
  void operator()(beast::error_code ec, size_t) {
    self->PauseWrite();
    if (ec) self->MarkPeerGone();
    if (self->responder_) self->responder_->OnWritten(!ec);
  }
};

void Connection::WriteStream(const std::string& data) {
  ArmWrite();
  asio::async_write(socket_, asio::buffer(data), StreamWritten{shared_from_this()});
}

void Connection::EndStream(int status, bool keep_alive) {
  responder_.reset();
  DisarmWrite();
  LogRequest(peer_gone_ ? 499 : status);
  if (peer_gone_ || closed_) {
    Close();
    return;
  }
  if (!keep_alive || !keep_alive_) {
    Linger();
    return;
  }
  NextRequest();
}

void Connection::NextRequest() {
  if (closed_) return;
  SetPhase(Phase::kIdle);
  ArmRead(limits_.idle_timeout_s);
  if (buffer_.size() > 0) {
    // A pipelined request is already here. The watch read cannot be left
    // pending beside the header read: cancel it, OnReadAhead starts the header.
    if (read_ahead_pending_) {
      beast::error_code ec;
      socket_.cancel(ec);
    } else {
      StartHeader();
    }
    return;
  }
  ReadAhead();  // a watch read still pending now waits for the next request
}

// Closing with unread bytes in the socket makes the kernel send a reset,
// which can destroy the response before the client reads it (a 413 sent while
// the body still arrives). So: stop sending, read until the client closes.
void Connection::Linger() {
  if (closed_) return;
  SetPhase(Phase::kLinger);
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  buffer_.consume(buffer_.size());
  ArmRead(limits_.linger_timeout_s);
  ReadAhead();
}

void Connection::MarkPeerGone() {
  if (peer_gone_) return;
  peer_gone_ = true;
  if (responder_) responder_->OnPeerGone();
}

void Connection::LogRequest(int status) {
  nlohmann::json fields = std::move(log_.fields);
  fields["method"] = method_;
  fields["path"] = path_;
  fields["status"] = status;
  const double ms = MsSince(started_);
  fields["ms"] = std::round(ms * 1000.0) / 1000.0;
  log::Info("request", fields);
  router_.Report(path_, status, ms);
  log_ = RequestLog{};
  headers_.clear();
}

// ---- deadlines

void Connection::ArmRead(int seconds) {
  read_timer_.expires_after(std::chrono::seconds(seconds));
  read_timer_.async_wait([self = shared_from_this(), seq = ++read_seq_](beast::error_code ec) {
    if (!ec && seq == self->read_seq_ && !self->closed_) self->OnReadDeadline();
  });
}

void Connection::DisarmRead() {
  ++read_seq_;
  read_timer_.cancel();
}

void Connection::OnReadDeadline() {
  if (phase_ == Phase::kBody) {
    // Cancel the body read; OnBody answers 408.
    body_timed_out_ = true;
    beast::error_code ec;
    socket_.cancel(ec);
    return;
  }
  if (phase_ == Phase::kHeader) {
    log::Debug("header timeout", {{"timeout_s", limits_.header_timeout_s}});
  }
  Close();  // idle, header or linger deadline
}

// One timer wait serves many writes: arming moves the deadline, and a wait
// that fires before the deadline in force waits again. So a stream does not
// start and cancel a timer wait (a heap allocation) per event.
void Connection::ArmWrite() {
  write_deadline_ =
      std::chrono::steady_clock::now() + std::chrono::seconds(limits_.write_timeout_s);
  write_armed_ = true;
  if (!write_wait_pending_) WaitForWriteDeadline();
}

void Connection::WaitForWriteDeadline() {
  write_wait_pending_ = true;
  write_timer_.expires_at(write_deadline_);
  write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    self->write_wait_pending_ = false;
    if (ec || self->closed_ || !self->write_armed_) return;
    if (std::chrono::steady_clock::now() < self->write_deadline_) {
      self->WaitForWriteDeadline();
      return;
    }
    // The client stopped reading: closing fails the write, which cancels the request.
    self->Close();
  });
}

void Connection::PauseWrite() { write_armed_ = false; }

void Connection::DisarmWrite() {
  write_armed_ = false;
  write_timer_.cancel();
}

}  // namespace modeld::httpapi
