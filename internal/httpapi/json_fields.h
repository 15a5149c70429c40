#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkg/types/status.h"

namespace modeld::httpapi {

// The member `key` of `obj`; null when it is absent or JSON null (OpenAI
// clients send null for "not given").
inline const nlohmann::json* Field(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// Typed, range-checked reads of optional fields of a JSON request object.
// Each returns InvalidRequest naming the field when the type or range is
// wrong, and leaves `out` untouched when the field is absent or null.
Status ReadString(const nlohmann::json& obj, std::string_view key, std::string& out);
Status ReadBool(const nlohmann::json& obj, std::string_view key, bool& out);
Status ReadInt(const nlohmann::json& obj, std::string_view key, long long lo, long long hi,
               long long& out);
Status ReadFloat(const nlohmann::json& obj, std::string_view key, double lo, double hi, float& out);
// A string or an array of strings; at most `max_count`, none empty.
Status ReadStop(const nlohmann::json& obj, std::string_view key, size_t max_count,
                std::vector<std::string>& out);

// Parses a request body that must be a JSON object.
Result<nlohmann::json> ParseObject(std::string_view body);

}  // namespace modeld::httpapi
