#pragma once

#include <string_view>

#include "internal/httpapi/router.h"
#include "internal/httpapi/web_assets.h"

namespace modeld::httpapi {

// The Content-Security-Policy of the status page: its own script, style and
// connections only; no inline script, no frames, no forms elsewhere.
inline constexpr std::string_view kWebPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// True when an If-None-Match header value names `etag` (or is "*"), so the
// answer is 304 Not Modified.
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

// GET / (the status page and playground), /app.js and /app.css, from the
// embedded web/ files; with ETag, Cache-Control: no-cache (revalidate: a new
// binary may serve a new page) and the policy above. Open without an API
// key (the page asks for one; see AccessPolicy).
void RegisterWebRoutes(Router& router);

}  // namespace modeld::httpapi
