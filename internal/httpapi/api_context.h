#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "internal/httpapi/client_paths.h"
#include "internal/manager/manager.h"
#include "internal/registry/registry.h"

namespace modeld::httpapi {

// What the handlers need. The referenced objects outlive the server.
struct ApiContext {
  manager::Manager& manager;
  const registry::Registry& registry;
  boost::asio::any_io_executor executor;  // the io thread's
  ClientPaths paths;                      // what clients see of filesystem paths
};

}  // namespace modeld::httpapi
