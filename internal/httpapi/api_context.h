#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "internal/httpapi/client_paths.h"
#include "internal/manager/manager.h"
#include "internal/registry/registry_store.h"

namespace modeld::httpapi {

// What the handlers need. The referenced objects outlive the server.
struct ApiContext {
  manager::Manager& manager;
  // The registry in force; a handler takes one snapshot (Get) and uses it
  // throughout, so a reload never shows it two registries.
  const registry::RegistryStore& registry;
  boost::asio::any_io_executor executor;  // the io thread's
  ClientPaths paths;                      // what clients see of filesystem paths
  std::string pinned;                     // --pin: the one model served; empty: any
};

}  // namespace modeld::httpapi
