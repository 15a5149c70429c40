#pragma once

// A minimal HTTP/1.1 client on Boost.Beast for the black-box tests. Every
// network step has a deadline (async operations on a private io_context, run
// to completion with beast::tcp_stream::expires_after), so no test can hang.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/blackbox/event_parser.h"

namespace modeld::blackbox {

using Millis = std::chrono::milliseconds;
using Headers = std::map<std::string, std::string>;  // names in lower case

// A complete response (or the transport error that prevented one).
struct HttpResponse {
  std::string error;  // empty when a full response arrived
  int status = 0;
  Headers headers;
  std::string body;

  std::string Header(const std::string& lower_name) const;
  // The body as JSON; discarded when it is not JSON.
  nlohmann::json Json() const;
};

// One request on its own connection, read step by step. Not thread-safe.
class HttpExchange {
 public:
  // Connects and writes the request; it does not wait for the response.
  // Check error() afterwards (a failed write still allows reading: a server
  // may answer early, e.g. 413, and close).
  HttpExchange(int port, const std::string& method, const std::string& target,
               const std::string& body, const Headers& headers, Millis timeout);
  ~HttpExchange();

  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  const std::string& error() const { return error_; }
  bool connected() const { return connected_; }

  // Waits for the status line and headers; false on error or timeout.
  bool AwaitHeaders(Millis timeout);
  int status() const { return status_; }
  const Headers& headers() const { return headers_; }
  std::string Header(const std::string& lower_name) const;

  // Reads the next piece of the body (at least one byte) into `out`; false
  // at the end of the body, on error or timeout (see error()).
  bool ReadSome(std::string& out, Millis timeout);
  bool done() const;
  // Reads the rest of the body; false if it did not end in time.
  bool ReadAll(std::string& out, Millis timeout);

  // Closes the socket at once (the client "disconnects").
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
  bool connected_ = false;
  int status_ = 0;
  Headers headers_;
};

// Sends a request and reads the whole response.
HttpResponse Request(int port, const std::string& method, const std::string& target,
                     const std::string& body = "", const Headers& headers = {},
                     Millis timeout = Millis(15000));
inline HttpResponse Get(int port, const std::string& target, Millis timeout = Millis(15000)) {
  return Request(port, "GET", target, "", {}, timeout);
}
HttpResponse PostJson(int port, const std::string& target, const nlohmann::json& body,
                      Millis timeout = Millis(30000));

// A POST /infer read event by event. Not thread-safe.
class InferStream {
 public:
  InferStream(int port, const nlohmann::json& body, StreamFormat format = StreamFormat::kSse,
              Millis connect_timeout = Millis(5000));
  InferStream(int port, const std::string& raw_body, StreamFormat format, Millis connect_timeout);

  HttpExchange& http() { return http_; }
  // Waits for the headers. Returns false on a transport error/timeout.
  bool AwaitHeaders(Millis timeout) { return http_.AwaitHeaders(timeout); }
  // True when the response is a stream of the requested format.
  bool IsStream() const;
  // The next event; nullopt at the end of the body, or on error/timeout
  // (then timed_out()/error() tell which).
  std::optional<Event> Next(Millis timeout);
  // For a non-stream response: the whole body.
  std::string Body(Millis timeout);
  void Close() { http_.Close(); }
  bool timed_out() const { return timed_out_; }
  const std::string& error() const { return http_.error(); }
  const EventParser& parser() const { return parser_; }

 private:
  HttpExchange http_;
  StreamFormat format_;
  EventParser parser_;
  std::vector<Event> ready_;
  bool timed_out_ = false;
};

// The whole outcome of one /infer call, in either format or non-streaming.
struct InferResult {
  std::string transport_error;  // connection failure, timeout, truncated stream
  int status = 0;
  Headers headers;
  std::string body;                     // non-stream responses only
  std::vector<Event> events;            // stream responses only
  std::string text;                     // concatenated token texts (or "text" of stream:false)
  std::optional<nlohmann::json> done;   // the done event / stream:false object
  std::optional<nlohmann::json> error;  // {"code","message"}: error event or error body
  std::vector<std::string> problems;    // protocol violations seen while reading

  std::string Header(const std::string& lower_name) const;
  std::string ErrorCode() const;
  std::string Describe() const;  // for failure messages
};

// Runs one /infer to its end (or until `timeout`).
InferResult Infer(int port, const nlohmann::json& body, StreamFormat format = StreamFormat::kSse,
                  Millis timeout = Millis(30000));
// Reads what is left of an already opened stream into a result.
InferResult Finish(InferStream& stream, Millis timeout);

}  // namespace modeld::blackbox
