#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "internal/httpapi/http_types.h"
#include "internal/httpapi/router.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

class Connection;

// Accepts connections and runs them on one io thread.
// Thread-safety: Listen, Run and Stop are called from one controlling thread;
// everything else happens on the io thread.
class Server {
 public:
  Server(const Router& router, Limits limits);
  ~Server();

  // Binds and listens; returns the bound port (useful with port 0).
  Result<int> Listen(const std::string& host, int port);
  // Starts the io thread.
  void Run();
  // Stops accepting new connections; open ones carry on.
  void StopAccepting();
  // Waits up to `grace` for responses in progress to finish, closes all and
  // joins the io thread.
  void Stop(std::chrono::milliseconds grace);

  boost::asio::io_context& io() { return io_; }

 private:
  void Accept();
  size_t BusyConnections();  // connections with a response in progress

  const Router& router_;
  const Limits limits_;
  boost::asio::io_context io_;
  // Keeps io_.run() going while no connection exists, until Stop.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::weak_ptr<Connection>> connections_;  // io thread only
};

}  // namespace modeld::httpapi
