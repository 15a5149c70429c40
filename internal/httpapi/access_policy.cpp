#include "internal/httpapi/access_policy.h"

#include <algorithm>
#include <cctype>

#include "internal/httpapi/http_origin.h"

namespace modeld::httpapi {
namespace {

constexpr size_t kMaxEcho = 100;  // of a header value quoted in an error message

std::string Quote(std::string_view s) {
  std::string out = "'";
  out.append(s.substr(0, kMaxEcho)).append(s.size() > kMaxEcho ? "...'" : "'");
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "application/json; charset=utf-8" -> "application/json".
std::string MediaType(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return Lower(t);
}

// A header list we may echo back in Access-Control-Allow-Headers.
bool IsTokenList(std::string_view s) {
  return !s.empty() && s.size() <= 1024 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == ',' || c == ' ';
  });
}

}  // namespace

Result<AccessPolicy> AccessPolicy::Create(AccessConfig config) {
  AccessPolicy p;
  p.keys_ = ApiKeys(std::move(config.api_keys));
  p.public_metrics_ = config.public_metrics;
  for (const std::string& o : config.cors_origins) {
    if (o == "*") {
      p.any_origin_ = true;
      continue;
    }
    auto origin = ParseOrigin(o);
    if (!origin) {
      return Status::InvalidRequest("--cors-origins: " + Quote(o) +
                                    " is not an origin; use scheme://host[:port] (e.g. "
                                    "http://localhost:3000) or *");
    }
    p.origins_.push_back(origin->Serialize());
  }
  for (const std::string& h : config.allowed_hosts) {
    if (h == "*") {
      p.any_host_ = true;
      continue;
    }
    const bool suffix = h.starts_with('.');
    auto parsed = ParseHostHeader(suffix ? std::string_view(h).substr(1) : std::string_view(h));
    if (!parsed || parsed->port != 0) {
      return Status::InvalidRequest("--allowed-hosts: " + Quote(h) +
                                    " is not a host name; use a name without a port (e.g. "
                                    "modeld.example.com), .example.com for its subdomains, or *");
    }
    p.hosts_.push_back(suffix ? "." + parsed->host : parsed->host);
  }
  return p;
}

Status AccessPolicy::CheckHost(std::optional<std::string_view> host) const {
  if (!host || any_host_) return Status::Ok();
  auto hp = ParseHostHeader(*host);
  if (hp) {
    const std::string& name = hp->host;
    if (IsIpLiteral(name) || name == "localhost" || name.ends_with(".localhost")) {
      return Status::Ok();
    }
    for (const std::string& allowed : hosts_) {
      if (name == allowed) return Status::Ok();
      // ".example.com" allows example.com and every name below it.
      if (allowed.starts_with('.') &&
          (name.ends_with(allowed) || name == std::string_view(allowed).substr(1))) {
        return Status::Ok();
      }
    }
  }
  return Status::HostNotAllowed("Host " + Quote(*host) +
                                " is not allowed (DNS rebinding protection); start modeld with "
                                "--allowed-hosts <name> to serve it under that name");
}

bool AccessPolicy::OriginAllowed(std::string_view origin, std::optional<std::string_view> host,
                                 bool* same_origin) const {
  *same_origin = false;
  auto parsed = ParseOrigin(origin);
  if (parsed && host) {
    auto hp = ParseHostHeader(*host);
    *same_origin = hp && IsSameOrigin(*parsed, *hp);
    if (*same_origin) return true;
  }
  if (any_origin_) return true;
  return parsed &&
         std::find(origins_.begin(), origins_.end(), parsed->Serialize()) != origins_.end();
}

bool AccessPolicy::IsOpen(std::string_view path) const {
  // Probes stay open, as llama-server's /health: orchestrators rarely send keys.
  // So is the status page (its files hold no data): it asks for a key and
  // sends it with every API call.
  return path == "/healthz" || path == "/readyz" || (public_metrics_ && path == "/metrics") ||
         path == "/" || path == "/app.js" || path == "/app.css";
}

GateDecision AccessPolicy::Decide(const AccessRequest& r) const {
  GateDecision d;
  auto refuse = [&d](Status s) {
    d.action = GateDecision::Action::kRefuse;
    d.error = std::move(s);
    return d;
  };
  if (Status s = CheckHost(r.host); !s.ok()) return refuse(std::move(s));

  if (r.origin) {
    bool same_origin = false;
    if (!OriginAllowed(*r.origin, r.host, &same_origin)) {
      return refuse(Status::OriginNotAllowed(
          "Origin " + Quote(*r.origin) +
          " is not allowed; start modeld with --cors-origins <origin> to let that web page "
          "use this server"));
    }
    if (!same_origin) {
      d.headers.emplace_back("Access-Control-Allow-Origin", std::string(*r.origin));
      d.headers.emplace_back("Vary", "Origin");
    }
    if (r.method == "OPTIONS" && r.preflight_method && !r.route_methods.empty()) {
      // A preflight carries no credentials: answer it before the key check.
      d.action = GateDecision::Action::kPreflight;
      d.headers.emplace_back("Access-Control-Allow-Methods", std::string(r.route_methods));
      if (r.preflight_headers && IsTokenList(*r.preflight_headers)) {
        d.headers.emplace_back("Access-Control-Allow-Headers", std::string(*r.preflight_headers));
      }
      d.headers.emplace_back("Access-Control-Max-Age", "600");
      return d;
    }
  }

  if (keys_.enabled() && !IsOpen(r.path)) {
    if (Status s = keys_.Check(r.authorization); !s.ok()) return refuse(std::move(s));
  }

  if (r.method == "POST" && r.content_type && MediaType(*r.content_type) != "application/json") {
    return refuse(Status::UnsupportedMediaType(
        "Content-Type " + Quote(*r.content_type) +
        " is not accepted; send the JSON body with 'Content-Type: application/json' (curl: -H "
        "'Content-Type: application/json')"));
  }
  return d;
}

GateDecision AccessPolicy::Check(const HttpRequest& request, std::string_view path,
                                 std::string_view route_methods) const {
  auto header = [&request](http::field f) -> std::optional<std::string_view> {
    auto it = request.find(f);
    if (it == request.end()) return std::nullopt;
    return it->value();
  };
  AccessRequest r;
  r.method = request.method_string();
  r.path = path;
  r.route_methods = route_methods;
  r.host = header(http::field::host);
  r.origin = header(http::field::origin);
  r.content_type = header(http::field::content_type);
  r.authorization = header(http::field::authorization);
  r.preflight_method = header(http::field::access_control_request_method);
  r.preflight_headers = header(http::field::access_control_request_headers);
  return Decide(r);
}

}  // namespace modeld::httpapi
