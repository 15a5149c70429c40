#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "internal/httpapi/handler_slot.h"
#include "internal/httpapi/http_types.h"
#include "pkg/types/status.h"

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

// Counts shared by the server and its connections; connections may outlive
// the server (an exchange holds one), hence shared ownership.
// Thread-safety: atomics; written on the io thread, read by Server::Stop.
struct ConnectionCounters {
  std::atomic<int> busy{0};                   // connections with a response in progress
  std::atomic<size_t> pending_body_bytes{0};  // bytes of request bodies not yet complete
};

// One HTTP/1.1 connection: reads requests, hands them to the router, writes
// responses. Every state has a deadline (Limits): waiting for a request, its
// header, its body, each write, and the drain before a close. While a
// response is pending it keeps one read outstanding, so a client that
// disconnects is noticed at once, and pipelined bytes are kept for later.
// Thread-safety: every method runs on the io thread.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const Router& router, const Limits& limits,
             std::shared_ptr<ConnectionCounters> counters);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();
  void Close();

  // ---- for handlers
  // Sends a complete response (only its header for HEAD), then reads the
  // next request, or closes.
  void Respond(int status, std::string body, std::string_view content_type = "application/json",
               int retry_after_s = 0);
  // Adds a header to the response to the current request (CORS,
  // WWW-Authenticate, Allow); Respond and a streamed response's head include it.
  void AddHeader(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }
  void AddHeader(http::field name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& added_headers() const { return headers_; }
  // Hands the connection to a streaming responder until EndStream.
  void BeginStream(std::shared_ptr<StreamingResponder> responder);
  // Writes raw bytes of a streamed response; `data` must live until OnWritten.
  void WriteStream(const std::string& data);
  // The streamed response is complete (or abandoned); logs it and moves on.
  // `keep_alive` false: the response's framing needs the close.
  void EndStream(int status, bool keep_alive);
  RequestLog& log() { return log_; }
  bool keep_alive() const { return keep_alive_; }
  unsigned http_version() const { return version_; }
  bool peer_gone() const { return peer_gone_; }

  // ---- for the server
  // A response is being produced or written (shutdown waits for these).
  bool busy() const { return busy_; }
  // Open and waiting for a request to begin: may be closed to make room.
  bool idle() const { return !closed_ && phase_ == Phase::kIdle; }
  bool open() const { return !closed_; }
  std::chrono::steady_clock::time_point idle_since() const { return idle_since_; }

 private:
  enum class Phase {
    kIdle,      // waiting for the first byte of a request
    kHeader,    // reading a request header
    kBody,      // reading a request body
    kHandling,  // a handler owns the request; the response is not yet written
    kLinger,    // the last response is sent; draining the client's bytes
  };

  void SetPhase(Phase phase);
  void SetBusy(bool busy);
  void ReadAhead();
  void OnReadAhead(beast::error_code ec, size_t n);
  void StartHeader();
  void OnHeader(beast::error_code ec);
  void TakeRequestLine();
  void SendContinue();
  void ReadBody();
  void OnBody(beast::error_code ec);
  void OnReadError(beast::error_code ec);
  void Dispatch();
  // Counts the body received so far against the shared budget; false when
  // the budget is exceeded.
  bool AccountBody();
  void ReleaseBody();
  void RejectAndClose(const Status& status);
  void NextRequest();
  void Linger();
  void MarkPeerGone();
  void LogRequest(int status);

  void ArmRead(int seconds);
  void DisarmRead();
  void OnReadDeadline();
  void ArmWrite();
  void WaitForWriteDeadline();
  void PauseWrite();  // a stream's write completed: its wait stays for the next
  void DisarmWrite();

  struct Outgoing;
  struct StreamWritten;

  tcp::socket socket_;
  const Router& router_;
  const Limits& limits_;
  std::shared_ptr<ConnectionCounters> counters_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<RequestBody>> parser_;
  std::shared_ptr<Outgoing> response_;
  std::shared_ptr<StreamingResponder> responder_;

  // Deadlines. A sequence number tells a stale expiry from the current one.
  asio::steady_timer read_timer_;
  asio::steady_timer write_timer_;
  uint64_t read_seq_ = 0;
  std::chrono::steady_clock::time_point write_deadline_{};
  bool write_armed_ = false;         // a write is in flight
  bool write_wait_pending_ = false;  // write_timer_ has a wait outstanding
  // Memory for the one streamed write in flight (WriteStream), reused for
  // every chunk so streaming does not touch the heap per event.
  HandlerSlot stream_write_slot_;

  // The request being served.
  std::string method_ = "-";
  std::string path_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false;
  std::chrono::steady_clock::time_point started_{};
  RequestLog log_;
  std::vector<std::pair<std::string, std::string>> headers_;  // see AddHeader

  Phase phase_ = Phase::kIdle;
  std::chrono::steady_clock::time_point idle_since_{};
  bool read_ahead_pending_ = false;
  bool discard_read_ahead_ = false;  // pipelined bytes overflowed: close after this response
  bool body_timed_out_ = false;
  size_t body_accounted_ = 0;  // this body's bytes in pending_body_bytes
  bool busy_ = false;
  bool peer_gone_ = false;
  bool closed_ = false;
};

}  // namespace modeld::httpapi
