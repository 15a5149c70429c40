#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "internal/httpapi/http_types.h"
#include "internal/httpapi/request_gate.h"
#include "internal/httpapi/request_observer.h"

namespace modeld::httpapi {

class Connection;

// Maps method + path to a handler. Exact paths first, then prefix routes
// (AddPrefix); the query string is ignored.
// HEAD is served by the GET handler (the connection sends only the header).
// Thread-safety: fill it before the server starts; then read-only.
class Router {
 public:
  using Handler = std::function<void(const HttpRequest&, const std::shared_ptr<Connection>&)>;

  void Add(http::verb method, std::string path, Handler handler);
  // Serves every one-segment path under `prefix` (which ends in '/') that
  // no exact route matches, e.g. "/v1/models/" for model ids a config
  // reload added. Reported to the observer as prefix + "{id}".
  void AddPrefix(http::verb method, std::string prefix, Handler handler);
  // Unknown paths get 404 not_found, known paths with another method 405
  // with an Allow header.
  void Dispatch(const HttpRequest& request, const std::shared_ptr<Connection>& conn) const;
  // "GET, HEAD", "POST", ...; empty for an unknown path.
  std::string AllowedMethods(std::string_view path) const;

  // Optional; asked about every request before its handler (access policy).
  void SetGate(const RequestGate* gate) { gate_ = gate; }

  // Optional; told about every answered request (see Report).
  void SetObserver(RequestObserver* observer) { observer_ = observer; }
  // Called by connections when a response is done: passes the request to the
  // observer with `path` reduced to a registered route or "other".
  void Report(std::string_view path, int status, double ms) const;

 private:
  struct Route {
    http::verb method;
    std::string path;  // the exact path, or the prefix of a prefix route
    Handler handler;
    bool prefix = false;
    std::string label;  // what Report passes on: path, or prefix + "{id}"
  };
  // The routes for `path`: the exact ones, or else the matching prefix ones.
  std::vector<const Route*> RoutesFor(std::string_view path) const;
  // True when the gate answered the request itself.
  bool AnsweredByGate(const HttpRequest& request, std::string_view path,
                      const std::shared_ptr<Connection>& conn) const;
  const Route* Find(http::verb method, std::string_view path) const;

  std::vector<Route> routes_;
  const RequestGate* gate_ = nullptr;
  RequestObserver* observer_ = nullptr;
};

}  // namespace modeld::httpapi
