#include "internal/httpapi/web_page.h"

#include "internal/httpapi/connection.h"

namespace modeld::httpapi {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void Serve(const WebAsset& asset, const HttpRequest& req, const std::shared_ptr<Connection>& conn) {
  conn->AddHeader(http::field::etag, std::string(asset.etag));
  conn->AddHeader(http::field::cache_control, "no-cache");
  conn->AddHeader("X-Content-Type-Options", "nosniff");
  conn->AddHeader("Referrer-Policy", "no-referrer");
  conn->AddHeader("Content-Security-Policy", std::string(kWebPagePolicy));
  auto it = req.find(http::field::if_none_match);
  if (it != req.end() && EtagMatches(it->value(), asset.etag)) {
    conn->Respond(304, "", "");
    return;
  }
  conn->Respond(200, std::string(asset.body), asset.content_type);
}

}  // namespace

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  // A comma-separated list of entity tags; weak ones (W/"...") compare
  // weakly, as RFC 9110 asks for If-None-Match.
  while (!if_none_match.empty()) {
    const size_t comma = if_none_match.find(',');
    std::string_view tag = Trim(if_none_match.substr(0, comma));
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

void RegisterWebRoutes(Router& router) {
  for (const WebAsset& asset : WebAssets()) {
    router.Add(http::verb::get, std::string(asset.path),
               [&asset](const HttpRequest& req, const auto& conn) { Serve(asset, req, conn); });
  }
}

}  // namespace modeld::httpapi
