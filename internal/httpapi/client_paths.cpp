#include "internal/httpapi/client_paths.h"

#include <algorithm>

namespace modeld::httpapi {
namespace {

std::string_view BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A character that can precede a path in a message: start, space, quote or
// bracket, '=' ("path=/x").
bool OpensPath(char c) {
  return c == ' ' || c == '\t' || c == '\'' || c == '"' || c == '(' || c == '[' || c == '=' ||
         c == '`';
}

// A character that ends a path word: whitespace, a quote or bracket, or a
// ':' / ',' / ';' followed by a space or the end ("...gguf: No such file").
bool EndsPath(std::string_view s, size_t i) {
  const char c = s[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\'' || c == '"' || c == ')' || c == ']' ||
      c == '`') {
    return true;
  }
  return (c == ':' || c == ',' || c == ';') && (i + 1 == s.size() || s[i + 1] == ' ');
}

// Replaces each absolute-looking word ("/a/b...") with its last component.
std::string RedactWords(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const bool at_word = in[i] == '/' && (i == 0 || OpensPath(in[i - 1])) && i + 1 < in.size() &&
                         in[i + 1] != ' ' && in[i + 1] != '/';
    if (!at_word) {
      out.push_back(in[i++]);
      continue;
    }
    size_t end = i;
    while (end < in.size() && !EndsPath(in, end)) ++end;
    const std::string_view word = in.substr(i, end - i);
    // One component ("/infer") is more likely a URL path than a file.
    out.append(word.find('/', 1) == std::string_view::npos ? word : BaseName(word));
    i = end;
  }
  return out;
}

}  // namespace

ClientPaths::ClientPaths(std::vector<std::string> known, bool expose)
    : known_(std::move(known)), expose_(expose) {
  std::erase_if(known_, [](const std::string& p) { return p.empty() || p.front() != '/'; });
  std::sort(known_.begin(), known_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string ClientPaths::Redact(std::string_view message) const {
  if (expose_) return std::string(message);
  std::string s(message);
  for (const std::string& path : known_) {
    const std::string base(BaseName(path));
    for (size_t at = s.find(path); at != std::string::npos; at = s.find(path, at + base.size())) {
      s.replace(at, path.size(), base);
    }
  }
  return RedactWords(s);
}

Status ClientPaths::Redact(const Status& status) const {
  if (expose_ || status.ok()) return status;
  return Status(status.code(), Redact(status.message()));
}

}  // namespace modeld::httpapi
