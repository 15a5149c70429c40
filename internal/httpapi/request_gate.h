#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/httpapi/http_types.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// What a gate decided about one request, before any handler runs.
struct GateDecision {
  enum class Action {
    kPass,       // on to the route's handler (or 404/405)
    kPreflight,  // a CORS preflight the gate answers itself: 204 with `headers`
    kRefuse,     // answer with `error` (mapped in error_mapping.cpp)
  };
  Action action = Action::kPass;
  Status error;
  // Added to whatever response follows (CORS headers for an allowed origin).
  std::vector<std::pair<std::string, std::string>> headers;
};

// The seam between the router and the access policy: the router asks it
// about every request. Implementations must be safe to call from the io
// thread while nothing else changes them.
class RequestGate {
 public:
  virtual ~RequestGate() = default;
  // `path` is the target without its query; `route_methods` lists the
  // methods routed for it, e.g. "GET" or "POST" (empty for an unknown path).
  virtual GateDecision Check(const HttpRequest& request, std::string_view path,
                             std::string_view route_methods) const = 0;
};

}  // namespace modeld::httpapi
