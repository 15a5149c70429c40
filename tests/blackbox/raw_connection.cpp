#include "tests/blackbox/raw_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

namespace modeld::blackbox {
namespace http = boost::beast::http;

namespace {

int MsLeft(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string RawResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

RawConnection::RawConnection(int port, int rcvbuf) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return;
  }
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawConnection::ShutdownSend() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawConnection::Send(std::string_view bytes, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, MsLeft(deadline)) <= 0) {
      error_ = "send: timeout";
      return false;
    }
  }
  return true;
}

bool RawConnection::ReadSome(Millis timeout) {
  if (fd_ < 0 || eof_) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      data_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      eof_ = true;  // closed or reset
      return true;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, MsLeft(deadline)) <= 0) return false;
  }
}

bool RawConnection::ReadUntil(std::string_view marker, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (data_.find(marker) == std::string::npos) {
    if (eof_ || !ReadSome(Millis(MsLeft(deadline)))) return false;
  }
  return true;
}

bool RawConnection::WaitClosed(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_) {
    if (!ReadSome(Millis(MsLeft(deadline)))) return false;
  }
  return true;
}

std::optional<RawResponse> RawConnection::ReadResponse(Millis timeout, bool head) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::string problem;
    if (auto r = TakeResponse(data_, head, eof_, &problem)) return r;
    if (!problem.empty()) {
      error_ = problem;
      return std::nullopt;
    }
    if (eof_ || !ReadSome(Millis(MsLeft(deadline)))) {
      error_ = eof_ ? "connection closed before a complete response" : "read: timeout";
      return std::nullopt;
    }
  }
}

std::optional<RawResponse> TakeResponse(std::string& data, bool head, bool at_eof,
                                        std::string* problem) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.skip(head);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  boost::beast::error_code ec;
  size_t used = 0;
  while (!parser.is_done() && used < data.size()) {
    const size_t n = parser.put(boost::asio::buffer(data.data() + used, data.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) {
      ec = {};
      break;
    }
    if (ec) {
      *problem = "not an HTTP response: " + ec.message();
      return std::nullopt;
    }
    if (n == 0) break;
  }
  if (!parser.is_done() && at_eof && parser.is_header_done()) {
    parser.put_eof(ec);  // a body delimited by the close
    if (ec) return std::nullopt;
  }
  if (!parser.is_done()) return std::nullopt;
  RawResponse r;
  const auto& msg = parser.get();
  r.status = static_cast<int>(msg.result_int());
  r.version = msg.version();
  for (const auto& f : msg) r.headers[Lower(std::string(f.name_string()))] = std::string(f.value());
  r.body = msg.body();
  data.erase(0, used);
  return r;
}

}  // namespace modeld::blackbox
