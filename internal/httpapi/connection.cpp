#include "internal/httpapi/connection.h"

#include <cmath>

#include <boost/asio/write.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/router.h"
#include "internal/log/log.h"

namespace modeld::httpapi {
namespace {

constexpr size_t kMaxBufferedWhileStreaming = 64 << 10;

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Connection::Connection(tcp::socket socket, const Router& router, const Limits& limits)
    : stream_(std::move(socket)), router_(router), limits_(limits) {}

void Connection::Start() { ReadRequest(); }

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

void Connection::ReadRequest() {
  if (closed_) return;
  parser_.emplace();
  parser_->body_limit(limits_.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  stream_.expires_after(std::chrono::seconds(limits_.idle_timeout_s));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
}

void Connection::OnRead(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    RejectUnread(
        413, NativeErrorBody(Status::TooLarge("request body exceeds " +
                                              std::to_string(limits_.max_body_bytes) + " bytes")));
    return;
  }
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
    Close();
    return;
  }
  if (ec) {
    if (ec.category() == http::make_error_code(http::error::bad_target).category() ||
        ec == http::error::header_limit) {
      RejectUnread(
          400, NativeErrorBody(Status::InvalidRequest("malformed HTTP request: " + ec.message())));
    } else {
      Close();
    }
    return;
  }
  stream_.expires_never();
  const HttpRequest& request = parser_->get();
  method_ = std::string(request.method_string());
  path_ = std::string(request.target().substr(0, request.target().find('?')));
  version_ = request.version();
  keep_alive_ = request.keep_alive();
  started_ = std::chrono::steady_clock::now();
  log_ = RequestLog{};
  router_.Dispatch(request, shared_from_this());
}

void Connection::RejectUnread(int status, const std::string& body) {
  // The rest of the request cannot be trusted: answer and close.
  keep_alive_ = false;
  if (method_.empty()) method_ = "-";
  started_ = std::chrono::steady_clock::now();
  Respond(status, body);
}

void Connection::Respond(int status, std::string body, std::string_view content_type,
                         int retry_after_s) {
  if (closed_) return;
  responder_.reset();
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status),
                                                                 version_);
  res->set(http::field::server, "modeld/" MODELD_VERSION);
  if (!content_type.empty()) res->set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers_) res->set(name, value);
  if (retry_after_s > 0) res->set(http::field::retry_after, std::to_string(retry_after_s));
  res->keep_alive(keep_alive_);
  res->body() = std::move(body);
  res->prepare_payload();
  response_ = res;
  http::async_write(stream_, *res,
                    [self = shared_from_this(), status](beast::error_code ec, size_t) {
                      self->response_.reset();
                      self->LogRequest(ec ? 499 : status);
                      if (ec || !self->keep_alive_) {
                        self->Close();
                        return;
                      }
                      self->NextRequest();
                    });
}

void Connection::BeginStream(std::shared_ptr<StreamingResponder> responder) {
  responder_ = std::move(responder);
  Watch();
}

void Connection::WriteStream(const std::string& data) {
  stream_.expires_after(std::chrono::seconds(limits_.write_timeout_s));
  asio::async_write(stream_, asio::buffer(data),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      // Timers are shared with the watch read: clear it again.
                      self->stream_.expires_never();
                      if (ec && !self->peer_gone_) {
                        self->peer_gone_ = true;
                        if (self->responder_) self->responder_->OnPeerGone();
                      }
                      if (self->responder_) self->responder_->OnWritten(!ec);
                    });
}

void Connection::EndStream(int status, bool keep_alive) {
  responder_.reset();
  LogRequest(peer_gone_ ? 499 : status);
  if (peer_gone_ || !keep_alive || !keep_alive_) {
    Close();
    return;
  }
  NextRequest();
}

void Connection::Watch() {
  if (watching_ || closed_ || buffer_.size() > kMaxBufferedWhileStreaming) return;
  watching_ = true;
  stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](beast::error_code ec, size_t n) { self->OnWatch(ec, n); });
}

void Connection::OnWatch(beast::error_code ec, size_t n) {
  watching_ = false;
  if (ec) {
    if (!peer_gone_) {
      peer_gone_ = true;
      if (responder_) responder_->OnPeerGone();
    }
    if (await_next_ || !responder_) Close();
    return;
  }
  buffer_.commit(n);  // pipelined bytes of the next request: keep them
  if (await_next_) {
    await_next_ = false;
    ReadRequest();
    return;
  }
  if (responder_) Watch();
}

void Connection::NextRequest() {
  if (closed_) return;
  if (watching_) {
    await_next_ = true;  // OnWatch continues with the next request
    return;
  }
  ReadRequest();
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

}  // namespace modeld::httpapi
