#include "internal/httpapi/vector_text.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace modeld::httpapi {

void AppendFloatArray(std::string& out, std::span<const float> v) {
  out.push_back('[');
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.push_back(',');
    const float x = std::isfinite(v[i]) ? v[i] : 0.0f;
    const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), x);
    out.append(buf, ec == std::errc() ? end : buf);
  }
  out.push_back(']');
}

void AppendBase64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  out.reserve(out.size() + (n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t w = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(kAlphabet[(w >> 18) & 63]);
    out.push_back(kAlphabet[(w >> 12) & 63]);
    out.push_back(kAlphabet[(w >> 6) & 63]);
    out.push_back(kAlphabet[w & 63]);
  }
  if (i < n) {
    uint32_t w = uint32_t{p[i]} << 16;
    if (i + 1 < n) w |= uint32_t{p[i + 1]} << 8;
    out.push_back(kAlphabet[(w >> 18) & 63]);
    out.push_back(kAlphabet[(w >> 12) & 63]);
    out.push_back(i + 1 < n ? kAlphabet[(w >> 6) & 63] : '=');
    out.push_back('=');
  }
}

void AppendFloatsBase64(std::string& out, std::span<const float> v) {
  static_assert(std::endian::native == std::endian::little, "floats are sent as stored");
  std::string_view bytes(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  AppendBase64(out, bytes);
}

}  // namespace modeld::httpapi
