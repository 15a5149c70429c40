#include "internal/httpapi/api_keys.h"

#include <strings.h>

namespace modeld::httpapi {

bool ConstantTimeEquals(std::string_view presented, std::string_view key) {
  // Walk the presented token only and wrap around the key: no early exit,
  // and no loop bound that reveals the key's length.
  size_t diff = presented.size() ^ key.size();
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |=
        static_cast<unsigned char>(presented[i]) ^ static_cast<unsigned char>(key[i % key.size()]);
  }
  return diff == 0;
}

Status ApiKeys::Check(std::optional<std::string_view> authorization) const {
  constexpr std::string_view kScheme = "bearer";
  if (!authorization || authorization->size() <= kScheme.size() ||
      ::strncasecmp(authorization->data(), kScheme.data(), kScheme.size()) != 0 ||
      (*authorization)[kScheme.size()] != ' ') {
    return Status::Unauthorized(
        "missing API key: send the header 'Authorization: Bearer <key>' (the OpenAI SDKs do so "
        "with their apiKey option)");
  }
  std::string_view token = authorization->substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  bool match = false;
  for (const std::string& key : keys_) match |= ConstantTimeEquals(token, key);
  if (!match) return Status::Unauthorized("invalid API key");
  return Status::Ok();
}

}  // namespace modeld::httpapi
