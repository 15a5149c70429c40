#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "internal/httpapi/accept_backoff.h"
#include "internal/httpapi/connection.h"
#include "internal/httpapi/http_types.h"
#include "internal/httpapi/router.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// Accepts connections and runs them on one io thread. At most
// Limits::max_connections are open: a new one beyond that closes the
// connection that has been idle longest, or, with none idle, is closed itself.
// Thread-safety: Listen, Run, StopAccepting and Stop are called from one
// controlling thread; everything else happens on the io thread.
class Server {
 public:
  Server(const Router& router, Limits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound port (useful with port 0).
  Result<int> Listen(const std::string& host, int port);
  // Starts the io thread.
  void Run();
  // Stops accepting new connections (soon, on the io thread; it does not
  // wait); open ones carry on.
  void StopAccepting();
  // Waits up to `grace` for responses in progress to finish, closes all and
  // joins the io thread.
  void Stop(std::chrono::milliseconds grace);

  boost::asio::io_context& io() { return io_; }

 private:
  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Admit(tcp::socket socket);
  // Closes the connection idle longest; false when none is idle.
  bool EvictIdle();

  const Router& router_;
  const Limits limits_;
  boost::asio::io_context io_;
  // Keeps io_.run() going while no connection exists, until Stop.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::shared_ptr<ConnectionCounters> counters_ = std::make_shared<ConnectionCounters>();

  // io thread only
  boost::asio::steady_timer accept_timer_;
  AcceptBackoff backoff_;
  uint64_t refused_ = 0;  // connections refused at the cap since the last line about it
  std::chrono::steady_clock::time_point refused_logged_{};
  std::vector<std::weak_ptr<Connection>> connections_;
};

}  // namespace modeld::httpapi
