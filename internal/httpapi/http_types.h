#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "internal/httpapi/request_body.h"

namespace modeld::httpapi {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

using HttpRequest = http::request<RequestBody>;

// Connection limits and deadlines (docs/api.md, "Connections"). Every state
// of a connection has one: waiting for a request, its header, its body, each
// write, and the drain before a close.
struct Limits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  size_t max_connections = 256;              // beyond it: an idle one is closed, else the new one
  size_t max_pending_body_bytes = 64 << 20;  // all incomplete bodies together; beyond: 503
  int header_timeout_s = 10;                 // a new connection's request header, and any header
  int body_timeout_s = 30;                   // the whole body, from the end of its header
  int idle_timeout_s = 30;                   // keep-alive: after a response, until the next request
  int write_timeout_s = 30;                  // one write to a client that stopped reading
  int linger_timeout_s = 5;                  // draining the client's bytes before a close
  int send_buffer_bytes = 0;  // SO_SNDBUF of client sockets; 0: the kernel's autotuning
};

}  // namespace modeld::httpapi
