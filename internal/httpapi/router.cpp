#include "internal/httpapi/router.h"

#include "internal/httpapi/connection.h"
#include "internal/httpapi/error_mapping.h"

namespace modeld::httpapi {

void Router::Add(http::verb method, std::string path, Handler handler) {
  std::string label = path;
  routes_.push_back({method, std::move(path), std::move(handler), false, std::move(label)});
}

void Router::AddPrefix(http::verb method, std::string prefix, Handler handler) {
  std::string label = prefix + "{id}";
  routes_.push_back({method, std::move(prefix), std::move(handler), true, std::move(label)});
}

std::vector<const Router::Route*> Router::RoutesFor(std::string_view path) const {
  std::vector<const Route*> out;
  for (const auto& route : routes_) {
    if (!route.prefix && route.path == path) out.push_back(&route);
  }
  if (!out.empty()) return out;
  for (const auto& route : routes_) {
    if (route.prefix && path.size() > route.path.size() && path.starts_with(route.path) &&
        path.find('/', route.path.size()) == std::string_view::npos) {
      out.push_back(&route);
    }
  }
  return out;
}

const Router::Route* Router::Find(http::verb method, std::string_view path) const {
  for (const Route* route : RoutesFor(path)) {
    if (route->method == method) return route;
  }
  return nullptr;
}

std::string Router::AllowedMethods(std::string_view path) const {
  std::string allow;
  for (const Route* r : RoutesFor(path)) {
    const Route& route = *r;
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(route.method));
    if (route.method == http::verb::get) allow += ", HEAD";
  }
  return allow;
}

void Router::Dispatch(const HttpRequest& request, const std::shared_ptr<Connection>& conn) const {
  std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (AnsweredByGate(request, path, conn)) return;
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

bool Router::AnsweredByGate(const HttpRequest& request, std::string_view path,
                            const std::shared_ptr<Connection>& conn) const {
  if (gate_ == nullptr) return false;
  std::string methods;
  for (const Route* route : RoutesFor(path)) {
    if (!methods.empty()) methods += ", ";
    methods += http::to_string(route->method);
  }
  GateDecision d = gate_->Check(request, path, methods);
  for (auto& [name, value] : d.headers) conn->AddHeader(std::move(name), std::move(value));
  switch (d.action) {
    case GateDecision::Action::kPass:
      return false;
    case GateDecision::Action::kPreflight:
      conn->Respond(204, "", "");
      return true;
    case GateDecision::Action::kRefuse:
      break;
  }
  if (std::string_view challenge = ChallengeFor(d.error); !challenge.empty()) {
    conn->AddHeader("WWW-Authenticate", std::string(challenge));
  }
  conn->log().fields["outcome"] = d.error.code_name();
  // OpenAI clients read error.message and error.type from the OpenAI shape.
  const bool openai = path.starts_with("/v1/");
  conn->Respond(HttpStatusFor(d.error),
                openai ? OpenAiErrorBody(d.error) : NativeErrorBody(d.error));
  return true;
}

void Router::Report(std::string_view path, int status, double ms) const {
  if (observer_ == nullptr) return;
  const std::vector<const Route*> routes = RoutesFor(path);
  observer_->OnRequest(routes.empty() ? std::string_view("other") : routes.front()->label, status,
                       ms);
}

}  // namespace modeld::httpapi
