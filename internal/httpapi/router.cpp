#include "internal/httpapi/router.h"

#include "internal/httpapi/connection.h"
#include "internal/httpapi/error_mapping.h"

namespace modeld::httpapi {

void Router::Add(http::verb method, std::string path, Handler handler) {
  routes_.push_back({method, std::move(path), std::move(handler)});
}

void Router::Dispatch(const HttpRequest& request, const std::shared_ptr<Connection>& conn) const {
  std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  bool path_known = false;
  for (const auto& route : routes_) {
    if (route.path != path) continue;
    path_known = true;
    if (route.method == request.method()) {
      route.handler(request, conn);
      return;
    }
  }
  if (path_known) {
    conn->Respond(405, R"({"error":{"code":"method_not_allowed","message":"method not allowed"}})");
    return;
  }
  conn->Respond(404, R"({"error":{"code":"not_found","message":"no such endpoint"}})");
}

void Router::Report(std::string_view path, int status, double ms) const {
  if (observer_ == nullptr) return;
  for (const auto& route : routes_) {
    if (route.path == path) {
      observer_->OnRequest(route.path, status, ms);
      return;
    }
  }
  observer_->OnRequest("other", status, ms);
}

}  // namespace modeld::httpapi
