#include "internal/httpapi/server.h"

#include <future>

#include <boost/asio/post.hpp>

#include "internal/httpapi/connection.h"
#include "internal/log/log.h"

namespace modeld::httpapi {

Server::Server(const Router& router, Limits limits)
    : router_(router), limits_(limits), acceptor_(io_) {}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

Result<int> Server::Listen(const std::string& host, int port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidRequest("invalid --host '" + host + "': " + ec.message());
  tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Internal("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                            ec.message());
  }
  return static_cast<int>(acceptor_.local_endpoint().port());
}

void Server::Run() {
  work_.emplace(io_.get_executor());
  Accept();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw (a bug); log it and keep serving the others.
        log::Error("io thread: unhandled exception", {{"error", e.what()}});
      }
    }
  });
}

void Server::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Connection>(std::move(socket), router_, limits_);
      std::erase_if(connections_, [](const auto& w) { return w.expired(); });
      connections_.push_back(conn);
      conn->Start();
    } else {
      log::Warn("accept failed", {{"error", ec.message()}});
    }
    Accept();
  });
}

void Server::StopAccepting() {
  if (!thread_.joinable()) return;
  std::promise<void> done;
  asio::post(io_, [&] {
    beast::error_code ec;
    acceptor_.close(ec);
    done.set_value();
  });
  done.get_future().wait_for(std::chrono::seconds(2));
}

size_t Server::BusyConnections() {
  std::promise<size_t> count;
  asio::post(io_, [&] {
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    size_t busy = 0;
    for (auto& w : connections_) {
      if (auto c = w.lock(); c && c->busy()) ++busy;
    }
    count.set_value(busy);
  });
  auto f = count.get_future();
  if (f.wait_for(std::chrono::seconds(1)) != std::future_status::ready) return 0;
  return f.get();
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  StopAccepting();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline && BusyConnections() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  asio::post(io_, [this] {
    for (auto& w : connections_) {
      if (auto c = w.lock()) c->Close();
    }
  });
  work_.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  io_.stop();
  thread_.join();
}

}  // namespace modeld::httpapi
