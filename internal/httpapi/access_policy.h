#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "internal/httpapi/api_keys.h"
#include "internal/httpapi/request_gate.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// The access settings, as given on the command line and in the registry.
struct AccessConfig {
  std::vector<std::string> api_keys;       // empty: no authentication
  std::vector<std::string> cors_origins;   // "scheme://host[:port]" or "*"
  std::vector<std::string> allowed_hosts;  // names, ".suffix" (any subdomain) or "*"
  bool public_metrics = false;             // GET /metrics without a key
};

// The parts of a request the policy looks at; absent headers are nullopt.
struct AccessRequest {
  std::string_view method;         // "GET", "POST", "OPTIONS", ...
  std::string_view path;           // without the query
  std::string_view route_methods;  // methods routed for `path`; empty: unknown path
  std::optional<std::string_view> host;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> authorization;
  std::optional<std::string_view> preflight_method;   // Access-Control-Request-Method
  std::optional<std::string_view> preflight_headers;  // Access-Control-Request-Headers
};

// Who may use the server, decided in this order before any handler runs:
//  1. Host: an IP literal, localhost (or *.localhost) or an --allowed-hosts
//     name; anything else is a DNS-rebinding attempt (403 host_not_allowed).
//     No Host header (HTTP/1.0) is a non-browser client: allowed.
//  2. Origin (only browsers send it): same-origin or listed in
//     --cors-origins, else 403 origin_not_allowed. A CORS preflight from an
//     allowed origin is answered here (204); listed origins get CORS headers.
//  3. API key, when keys are configured: every path but /healthz, /readyz,
//     the status page's files (/, /app.js, /app.css) (and /metrics with
//     --public-metrics) needs one (401 invalid_api_key).
//  4. A POST body with a Content-Type must be application/json: browsers
//     send text/plain and form types cross-origin without a preflight
//     (415 unsupported_media_type). No Content-Type is allowed.
// Immutable after Create, so safe to use from any thread.
class AccessPolicy final : public RequestGate {
 public:
  // Validates and normalises the origins and hosts.
  static Result<AccessPolicy> Create(AccessConfig config);

  GateDecision Decide(const AccessRequest& request) const;
  GateDecision Check(const HttpRequest& request, std::string_view path,
                     std::string_view route_methods) const override;

  bool auth_enabled() const { return keys_.enabled(); }
  size_t key_count() const { return keys_.size(); }

 private:
  AccessPolicy() = default;
  Status CheckHost(std::optional<std::string_view> host) const;
  bool OriginAllowed(std::string_view origin, std::optional<std::string_view> host,
                     bool* same_origin) const;
  bool IsOpen(std::string_view path) const;

  ApiKeys keys_;
  std::vector<std::string> origins_;  // serialised, as ParseOrigin gives them
  bool any_origin_ = false;
  std::vector<std::string> hosts_;  // lower case; a leading '.' matches subdomains
  bool any_host_ = false;
  bool public_metrics_ = false;
};

}  // namespace modeld::httpapi
