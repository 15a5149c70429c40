#include "internal/httpapi/json_fields.h"

#include <cmath>

namespace modeld::httpapi {
namespace {

Status TypeError(std::string_view key, std::string_view want) {
  return Status::InvalidRequest("field '" + std::string(key) + "' must be " + std::string(want));
}

}  // namespace

Result<nlohmann::json> ParseObject(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidRequest("request body is not valid JSON");
  if (!j.is_object()) return Status::InvalidRequest("request body must be a JSON object");
  return j;
}

Status ReadString(const nlohmann::json& obj, std::string_view key, std::string& out) {
  const auto* f = Field(obj, key);
  if (!f) return Status::Ok();
  if (!f->is_string()) return TypeError(key, "a string");
  out = f->get<std::string>();
  return Status::Ok();
}

Status ReadBool(const nlohmann::json& obj, std::string_view key, bool& out) {
  const auto* f = Field(obj, key);
  if (!f) return Status::Ok();
  if (!f->is_boolean()) return TypeError(key, "a boolean");
  out = f->get<bool>();
  return Status::Ok();
}

Status ReadInt(const nlohmann::json& obj, std::string_view key, long long lo, long long hi,
               long long& out) {
  const auto* f = Field(obj, key);
  if (!f) return Status::Ok();
  const std::string range = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
  long long v = 0;
  if (f->is_number_unsigned()) {
    const auto u = f->get<unsigned long long>();
    if (u > static_cast<unsigned long long>(hi)) return TypeError(key, range);
    v = static_cast<long long>(u);
  } else if (f->is_number_integer()) {
    v = f->get<long long>();
  } else if (f->is_number_float()) {
    const double d = f->get<double>();
    // Only values a long long can hold may be converted: 2^63 itself (what
    // LLONG_MAX rounds to as a double) would be undefined behaviour.
    if (d != std::floor(d) || !(d >= -0x1p63 && d < 0x1p63)) return TypeError(key, range);
    v = static_cast<long long>(d);
  } else {
    return TypeError(key, range);
  }
  if (v < lo || v > hi) return TypeError(key, range);
  out = v;
  return Status::Ok();
}

Status ReadFloat(const nlohmann::json& obj, std::string_view key, double lo, double hi,
                 float& out) {
  const auto* f = Field(obj, key);
  if (!f) return Status::Ok();
  if (!f->is_number()) return TypeError(key, "a number");
  const double v = f->get<double>();
  if (!(v >= lo && v <= hi)) {
    return TypeError(key, "a number from " + std::to_string(lo).substr(0, 4) + " to " +
                              std::to_string(hi).substr(0, 4));
  }
  out = static_cast<float>(v);
  return Status::Ok();
}

Status ReadStop(const nlohmann::json& obj, std::string_view key, size_t max_count,
                std::vector<std::string>& out) {
  const auto* f = Field(obj, key);
  if (!f) return Status::Ok();
  std::vector<std::string> stops;
  if (f->is_string()) {
    stops.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    for (const auto& s : *f) {
      if (!s.is_string()) return TypeError(key, "a string or an array of strings");
      stops.push_back(s.get<std::string>());
    }
  } else {
    return TypeError(key, "a string or an array of strings");
  }
  if (stops.size() > max_count) {
    return TypeError(key, "at most " + std::to_string(max_count) + " strings");
  }
  for (const auto& s : stops) {
    if (s.empty()) return TypeError(key, "non-empty strings");
  }
  out = std::move(stops);
  return Status::Ok();
}

}  // namespace modeld::httpapi
