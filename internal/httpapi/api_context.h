#pragma once

#include <boost/asio/io_context.hpp>

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
  // The io thread's, as its concrete type: a post through any_io_executor
  // drops the handler's allocator and allocates (tests/alloc/).
  boost::asio::io_context::executor_type executor;
  ClientPaths paths;   // what clients see of filesystem paths
  std::string pinned;  // --pin: the one model served; empty: any
};

}  // namespace modeld::httpapi
