#include "internal/httpapi/http_origin.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/asio/ip/address.hpp>

namespace modeld::httpapi {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Letters, digits, '-', '.' and '_' (the last for local names): enough to
// refuse anything that would need escaping.
bool ValidName(std::string_view host) {
  if (host.empty()) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_';
  });
}

std::optional<int> ParsePort(std::string_view text) {
  int port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
      port > 65535) {
    return std::nullopt;
  }
  return port;
}

}  // namespace

std::string Origin::Serialize() const {
  const int default_port = scheme == "https" ? 443 : 80;
  std::string out = scheme;
  out.append("://").append(host);
  if (port != default_port) out.append(":").append(std::to_string(port));
  return out;
}

std::optional<HostPort> ParseHostHeader(std::string_view text) {
  HostPort out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = Lower(text.substr(0, close + 1));
    if (!IsIpLiteral(out.host)) return std::nullopt;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const size_t colon = text.find(':');
    out.host = Lower(text.substr(0, colon));
    if (!ValidName(out.host)) return std::nullopt;
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }
  if (!port.empty() || text.ends_with(':')) {
    auto p = ParsePort(port);
    if (!p) return std::nullopt;
    out.port = *p;
  }
  return out;
}

std::optional<Origin> ParseOrigin(std::string_view text) {
  Origin out;
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  out.scheme = Lower(text.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = text.substr(sep + 3);
  if (rest.ends_with('/')) rest.remove_suffix(1);  // "http://x/" as people write it
  auto hp = ParseHostHeader(rest);
  if (!hp) return std::nullopt;
  out.host = std::move(hp->host);
  out.port = hp->port != 0 ? hp->port : (out.scheme == "https" ? 443 : 80);
  return out;
}

bool IsIpLiteral(std::string_view host) {
  boost::system::error_code ec;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    boost::asio::ip::make_address_v6(std::string(host.substr(1, host.size() - 2)), ec);
    return !ec;
  }
  // make_address_v4 (inet_pton) takes only the four-part dotted form.
  boost::asio::ip::make_address_v4(std::string(host), ec);
  return !ec;
}

bool IsLoopbackAddress(std::string_view address) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return a.is_loopback();
}

bool IsSameOrigin(const Origin& origin, const HostPort& host) {
  if (origin.host != host.host) return false;
  // A Host without a port means the scheme's default port.
  const int host_port = host.port != 0 ? host.port : (origin.scheme == "https" ? 443 : 80);
  return origin.port == host_port;
}

}  // namespace modeld::httpapi
