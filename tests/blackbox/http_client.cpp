#include "tests/blackbox/http_client.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace modeld::blackbox {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Find(const Headers& h, const std::string& name) {
  auto it = h.find(name);
  return it == h.end() ? "" : it->second;
}

Millis Remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  return std::max(left, Millis(1));
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  return Find(headers, lower_name);
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

struct HttpExchange::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  http::request<http::string_body> req;
  char chunk[16 * 1024];  // the body buffer of the read in flight
  bool headers_done = false;

  // At most one read and one write are in flight. A read that outlives its
  // deadline stays in flight (the socket stays open): the next call of the
  // same kind waits for it again instead of starting a new one.
  bool read_pending = false;
  beast::error_code read_result;
  bool write_pending = false;
  beast::error_code write_result;

  // Runs the io_context until the read completes or `timeout` passes;
  // nullopt on timeout. `start` is only called when no read is in flight.
  template <typename Start>
  std::optional<beast::error_code> RunRead(Millis timeout, Start&& start) {
    if (!read_pending) {
      read_pending = true;
      start([this](beast::error_code ec, auto&&...) {
        read_result = ec;
        read_pending = false;
      });
    }
    return Drive(timeout, read_pending, read_result);
  }
  template <typename Start>
  std::optional<beast::error_code> RunWrite(Millis timeout, Start&& start) {
    write_pending = true;
    start([this](beast::error_code ec, auto&&...) {
      write_result = ec;
      write_pending = false;
    });
    return Drive(timeout, write_pending, write_result);
  }
  std::optional<beast::error_code> Drive(Millis timeout, const bool& pending,
                                         const beast::error_code& result) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pending && std::chrono::steady_clock::now() < deadline) {
      ioc.restart();
      ioc.run_one_until(deadline);
    }
    if (pending) return std::nullopt;
    return result;
  }
};

HttpExchange::HttpExchange(int port, const std::string& method, const std::string& target,
                           const std::string& body, const Headers& headers, Millis timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->parser.body_limit(
      std::numeric_limits<std::uint64_t>::max());  // not boost::none: 1.74 mis-compares it
  impl_->parser.header_limit(64 * 1024);
  tcp::endpoint ep(net::ip::address_v4::loopback(), static_cast<unsigned short>(port));
  auto ec =
      impl_->RunWrite(timeout, [&](auto handler) { impl_->socket.async_connect(ep, handler); });
  if (!ec || *ec) {
    error_ = "connect: " + (ec ? ec->message() : std::string("timeout"));
    Close();
    return;
  }
  connected_ = true;
  auto& req = impl_->req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "modeld-blackbox");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST") {
    req.body() = body;
    req.prepare_payload();
  }
  // A write still in flight after the deadline keeps going while we read:
  // a server may answer (e.g. 413) without reading the whole body.
  ec = impl_->RunWrite(timeout,
                       [&](auto handler) { http::async_write(impl_->socket, req, handler); });
  if (ec && *ec) error_ = "write: " + ec->message();
}

HttpExchange::~HttpExchange() { Close(); }

bool HttpExchange::AwaitHeaders(Millis timeout) {
  if (impl_->headers_done) return true;
  if (!connected_) return false;
  auto ec = impl_->RunRead(timeout, [&](auto handler) {
    http::async_read_header(impl_->socket, impl_->buf, impl_->parser, handler);
  });
  if (!ec) {
    error_ = "read header: timeout";
    return false;
  }
  if (*ec) {
    error_ = "read header: " + ec->message();
    return false;
  }
  impl_->headers_done = true;
  const auto& msg = impl_->parser.get();
  status_ = static_cast<int>(msg.result_int());
  for (const auto& f : msg) headers_[Lower(std::string(f.name_string()))] = std::string(f.value());
  return true;
}

std::string HttpExchange::Header(const std::string& lower_name) const {
  return Find(headers_, lower_name);
}

bool HttpExchange::done() const { return impl_->headers_done && impl_->parser.is_done(); }

bool HttpExchange::ReadSome(std::string& out, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!AwaitHeaders(timeout)) return false;
  auto& body = impl_->parser.get().body();
  while (!impl_->parser.is_done()) {
    auto ec = impl_->RunRead(Remaining(deadline), [&](auto handler) {
      body.data = impl_->chunk;
      body.size = sizeof impl_->chunk;
      http::async_read_some(impl_->socket, impl_->buf, impl_->parser, handler);
    });
    if (!ec) {
      error_ = "read body: timeout";
      return false;
    }
    if (*ec == http::error::need_buffer) *ec = {};
    const size_t got = sizeof impl_->chunk - body.size;
    out.append(impl_->chunk, got);
    body.size = sizeof impl_->chunk;  // counted: don't count it again
    if (*ec) {
      error_ = "read body: " + ec->message();
      return got > 0;
    }
    if (got > 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      error_ = "read body: timeout";
      return false;
    }
  }
  return false;
}

bool HttpExchange::ReadAll(std::string& out, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ReadSome(out, Remaining(deadline))) {
  }
  return done();
}

void HttpExchange::Close() {
  beast::error_code ec;
  impl_->socket.close(ec);
}

HttpResponse Request(int port, const std::string& method, const std::string& target,
                     const std::string& body, const Headers& headers, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpResponse r;
  HttpExchange x(port, method, target, body, headers, timeout);
  if (!x.connected()) {
    r.error = x.error();
    return r;
  }
  if (!x.AwaitHeaders(Remaining(deadline))) {
    r.error = x.error();
    return r;
  }
  r.status = x.status();
  r.headers = x.headers();
  if (!x.ReadAll(r.body, Remaining(deadline))) r.error = x.error().empty() ? "body" : x.error();
  return r;
}

HttpResponse PostJson(int port, const std::string& target, const nlohmann::json& body,
                      Millis timeout) {
  return Request(port, "POST", target, body.dump(), {{"content-type", "application/json"}},
                 timeout);
}

namespace {
Headers InferHeaders(StreamFormat format) {
  Headers h{{"content-type", "application/json"}};
  if (format == StreamFormat::kNdjson) h["accept"] = "application/x-ndjson";
  return h;
}
}  // namespace

InferStream::InferStream(int port, const nlohmann::json& body, StreamFormat format,
                         Millis connect_timeout)
    : InferStream(port, body.dump(), format, connect_timeout) {}

InferStream::InferStream(int port, const std::string& raw_body, StreamFormat format,
                         Millis connect_timeout)
    : http_(port, "POST", "/infer", raw_body, InferHeaders(format), connect_timeout),
      format_(format),
      parser_(format) {}

bool InferStream::IsStream() const {
  const std::string ct = http_.Header("content-type");
  return ct.rfind(format_ == StreamFormat::kSse ? "text/event-stream" : "application/x-ndjson",
                  0) == 0;
}

std::optional<Event> InferStream::Next(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ready_.empty()) {
    std::string bytes;
    if (!http_.ReadSome(bytes, Remaining(deadline))) {
      timed_out_ = http_.error().find("timeout") != std::string::npos ||
                   http_.error().find("expired") != std::string::npos;
      if (bytes.empty()) return std::nullopt;
    }
    for (auto& e : parser_.Feed(bytes)) ready_.push_back(std::move(e));
    if (ready_.empty() && http_.done()) return std::nullopt;
  }
  Event e = std::move(ready_.front());
  ready_.erase(ready_.begin());
  return e;
}

std::string InferStream::Body(Millis timeout) {
  std::string body;
  http_.ReadAll(body, timeout);
  return body;
}

}  // namespace modeld::blackbox
