#pragma once

#include <span>
#include <string_view>

namespace modeld::httpapi {

// A file of the status page (web/), embedded in the binary at build time by
// cmake/embed_web.cmake, so the page works offline and needs no files.
struct WebAsset {
  std::string_view path;          // "/", "/app.js", ...
  std::string_view content_type;  // with charset
  std::string_view body;
  std::string_view etag;  // quoted: "\"<16 hex digits of SHA-256>\""
};

// Every embedded file; constant for the life of the process.
std::span<const WebAsset> WebAssets();

}  // namespace modeld::httpapi
