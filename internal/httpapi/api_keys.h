#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::httpapi {

// The configured API keys and the check of an Authorization header against
// them. Immutable after construction, so safe to use from any thread.
class ApiKeys {
 public:
  ApiKeys() = default;
  explicit ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  // No keys: authentication is off.
  bool enabled() const { return !keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // Ok when `authorization` is "Bearer <key>" (scheme case-insensitive) for
  // a configured key; Unauthorized otherwise. Every key is compared, each in
  // time that depends only on the presented token's length, so the timing
  // says nothing about which key or how many characters matched.
  Status Check(std::optional<std::string_view> authorization) const;

 private:
  std::vector<std::string> keys_;
};

// Equality of `presented` and `key` in time that depends only on
// presented.size(). `key` must not be empty.
bool ConstantTimeEquals(std::string_view presented, std::string_view key);

}  // namespace modeld::httpapi
