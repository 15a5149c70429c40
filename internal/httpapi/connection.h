#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "internal/httpapi/http_types.h"

namespace modeld::httpapi {

class Router;

// What the request log line says beyond method, path, status and time.
struct RequestLog {
  nlohmann::json fields = nlohmann::json::object();  // model, tokens, outcome, ...
};

// A party that streams a response over a connection (an inference exchange).
class StreamingResponder {
 public:
  virtual ~StreamingResponder() = default;
  // The client closed the connection or a write failed.
  virtual void OnPeerGone() = 0;
  // A WriteStream finished.
  virtual void OnWritten(bool ok) = 0;
};

// One HTTP/1.1 connection: reads requests, hands them to the router, writes
// responses. While a response is pending it keeps one read outstanding, so a
// client that disconnects is noticed at once, not at the next write.
// Thread-safety: every method runs on the io thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const Router& router, const Limits& limits);
  void Start();
  void Close();

  // ---- for handlers
  // Sends a complete response, then reads the next request (or closes).
  void Respond(int status, std::string body, std::string_view content_type = "application/json",
               int retry_after_s = 0);
  // Adds a header to the response to the current request (CORS,
  // WWW-Authenticate); Respond and a streamed response's head include it.
  void AddHeader(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  const std::vector<std::pair<std::string, std::string>>& added_headers() const { return headers_; }
  // Hands the connection to a streaming responder until EndStream.
  void BeginStream(std::shared_ptr<StreamingResponder> responder);
  // Writes raw bytes of a streamed response; `data` must live until OnWritten.
  void WriteStream(const std::string& data);
  // The streamed response is complete (or abandoned); logs it and moves on.
  void EndStream(int status, bool keep_alive);
  RequestLog& log() { return log_; }
  bool keep_alive() const { return keep_alive_; }
  unsigned http_version() const { return version_; }
  bool peer_gone() const { return peer_gone_; }
  // A response is being produced or written (shutdown waits for these).
  bool busy() const { return responder_ != nullptr || response_ != nullptr; }

 private:
  void ReadRequest();
  void OnRead(beast::error_code ec);
  void Watch();
  void OnWatch(beast::error_code ec, size_t n);
  void NextRequest();
  void LogRequest(int status);
  void RejectUnread(int status, const std::string& body);

  beast::tcp_stream stream_;
  const Router& router_;
  const Limits& limits_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::shared_ptr<StreamingResponder> responder_;

  // The request being served.
  std::string method_;
  std::string path_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  std::chrono::steady_clock::time_point started_{};
  RequestLog log_;
  std::vector<std::pair<std::string, std::string>> headers_;  // see AddHeader

  bool watching_ = false;    // a disconnect-watch read is outstanding
  bool await_next_ = false;  // the response is done; the watch read leads to the next request
  bool peer_gone_ = false;
  bool closed_ = false;
};

}  // namespace modeld::httpapi
