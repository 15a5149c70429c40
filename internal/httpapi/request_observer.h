#pragma once

#include <string_view>

namespace modeld::httpapi {

// Told about every answered HTTP request (for metrics). Called on the io
// thread; implementations must be quick and thread-safe.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // `route` is a registered path, or "other" for any path the router does not
  // know (so label values stay bounded). `status` is 499 when the client left.
  virtual void OnRequest(std::string_view route, int status, double ms) = 0;
};

}  // namespace modeld::httpapi
