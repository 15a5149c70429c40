#pragma once

// Parsing of the Origin and Host headers for the browser checks (CORS and
// DNS rebinding). Pure functions; safe from any thread.

#include <optional>
#include <string>
#include <string_view>

namespace modeld::httpapi {

// A browser origin: scheme, host and port (the scheme's default when absent).
struct Origin {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; an IPv6 address keeps its brackets
  int port = 0;
  // "scheme://host[:port]", the port only when it is not the default.
  std::string Serialize() const;
};

// Parses an Origin header value or a --cors-origins entry: http or https,
// a host, an optional port, nothing else (no path, user or query). nullopt
// for anything else, including "null".
std::optional<Origin> ParseOrigin(std::string_view text);

// A Host header (or --allowed-hosts entry) split into its lower-case name and
// port (0 when absent); nullopt when malformed. "[::1]:8080" -> "[::1]", 8080.
struct HostPort {
  std::string host;
  int port = 0;
};
std::optional<HostPort> ParseHostHeader(std::string_view text);

// True for an IPv4 dotted quad or a bracketed IPv6 address. Such a Host
// cannot come from DNS rebinding: no name was resolved.
bool IsIpLiteral(std::string_view host);

// True when `address` (a --host value: an IP literal) is a loopback address,
// including an IPv4-mapped 127.x in IPv6 form.
bool IsLoopbackAddress(std::string_view address);

// True when the browser page at `origin` is this server as the client
// addressed it in `host` (same host and port), i.e. a same-origin request.
bool IsSameOrigin(const Origin& origin, const HostPort& host);

}  // namespace modeld::httpapi
