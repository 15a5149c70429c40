#include "internal/httpapi/server.h"

#include <future>

#include <boost/asio/post.hpp>

#include "internal/log/log.h"

namespace modeld::httpapi {

Server::Server(const Router& router, Limits limits)
    : router_(router), limits_(limits), acceptor_(io_), accept_timer_(io_) {}

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
  if (!acceptor_.is_open()) return;
  acceptor_.async_accept(
      [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Server::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    const AcceptBackoff::Retry retry = backoff_.OnFailure(ec, AcceptBackoff::Clock::now());
    if (retry.delay.count() == 0) {
      log::Debug("accept retried", {{"error", ec.message()}});
      Accept();
      return;
    }
    if (retry.log) {
      log::Warn("accept paused",
                {{"error", ec.message()},
                 {"failures", retry.failures},
                 {"retry_ms", retry.delay.count()},
                 {"hint", "raise the open-files limit or lower --max-connections"}});
    }
    accept_timer_.expires_after(retry.delay);
    accept_timer_.async_wait([this](beast::error_code timer_ec) {
      if (!timer_ec) Accept();
    });
    return;
  }
  if (const uint64_t failures = backoff_.OnSuccess(); failures > 0) {
    log::Info("accept resumed", {{"failures", failures}});
  }
  Admit(std::move(socket));
  Accept();
}

void Server::Admit(tcp::socket socket) {
  std::erase_if(connections_, [](const auto& w) {
    auto c = w.lock();
    return !c || !c->open();
  });
  if (connections_.size() >= limits_.max_connections && !EvictIdle()) {
    // Every slot has a request in progress. Closing costs nothing to hold,
    // where a 503 would need the request read first.
    ++refused_;
    const auto now = std::chrono::steady_clock::now();
    if (refused_ == 1 || now - refused_logged_ >= std::chrono::minutes(1)) {
      log::Warn("connection limit reached: closing new connections",
                {{"max_connections", limits_.max_connections}, {"refused", refused_}});
      refused_logged_ = now;
    }
    beast::error_code ec;
    socket.close(ec);
    return;
  }
  refused_ = 0;
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (limits_.send_buffer_bytes > 0) {
    socket.set_option(asio::socket_base::send_buffer_size(limits_.send_buffer_bytes), ec);
  }
  auto conn = std::make_shared<Connection>(std::move(socket), router_, limits_, counters_);
  connections_.push_back(conn);
  conn->Start();
}

bool Server::EvictIdle() {
  std::shared_ptr<Connection> oldest;
  for (const auto& w : connections_) {
    auto c = w.lock();
    if (c && c->idle() && (!oldest || c->idle_since() < oldest->idle_since())) oldest = c;
  }
  if (!oldest) return false;
  oldest->Close();  // a client may close an idle keep-alive connection at any time; so may we
  std::erase_if(connections_, [&](const auto& w) { return w.lock() == oldest; });
  return true;
}

void Server::StopAccepting() {
  if (!thread_.joinable()) {
    beast::error_code ec;
    acceptor_.close(ec);
    return;
  }
  // Runs after this returns: it captures nothing of the caller's stack, and
  // Stop joins the io thread before `this` goes away.
  asio::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    accept_timer_.cancel();
  });
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  StopAccepting();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline && counters_->busy.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls a counter
  }
  // Shared state, so a late run never touches this stack frame.
  auto closed = std::make_shared<std::promise<void>>();
  asio::post(io_, [this, closed] {
    for (auto& w : connections_) {
      if (auto c = w.lock()) c->Close();
    }
    closed->set_value();
  });
  closed->get_future().wait();
  work_.reset();
  io_.stop();
  thread_.join();
}

}  // namespace modeld::httpapi
