#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace modeld::httpapi {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

using HttpRequest = http::request<http::string_body>;

struct Limits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  int idle_timeout_s = 60;   // keep-alive and header read
  int write_timeout_s = 60;  // one write to a client that stopped reading
};

}  // namespace modeld::httpapi
