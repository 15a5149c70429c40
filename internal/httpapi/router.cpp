#include "internal/httpapi/router.h"

#include "internal/httpapi/connection.h"

namespace modeld::httpapi {

void Router::Add(http::verb method, std::string path, Handler handler) {
  routes_.push_back({method, std::move(path), std::move(handler)});
}

const Router::Route* Router::Find(http::verb method, std::string_view path) const {
  for (const auto& route : routes_) {
    if (route.path == path && route.method == method) return &route;
  }
  return nullptr;
}

std::string Router::AllowedMethods(std::string_view path) const {
  std::string allow;
  for (const auto& route : routes_) {
    if (route.path != path) continue;
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(route.method));
    if (route.method == http::verb::get) allow += ", HEAD";
  }
  return allow;
}

void Router::Dispatch(const HttpRequest& request, const std::shared_ptr<Connection>& conn) const {
  std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const Route* route = Find(request.method(), path);
  // HEAD is GET without the body; the connection leaves the body out.
  if (route == nullptr && request.method() == http::verb::head) route = Find(http::verb::get, path);
  if (route != nullptr) {
    route->handler(request, conn);
    return;
  }
  const std::string allow = AllowedMethods(path);
  if (!allow.empty()) {
    conn->AddHeader(http::field::allow, allow);
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
