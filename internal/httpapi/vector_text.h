#pragma once

#include <span>
#include <string>
#include <string_view>

namespace modeld::httpapi {

// Appends `v` as a JSON array of numbers, each the shortest text that reads
// back as the same float (std::to_chars); a non-finite value becomes 0.
void AppendFloatArray(std::string& out, std::span<const float> v);

// Appends the standard base64 (RFC 4648, padded) of `bytes`.
void AppendBase64(std::string& out, std::string_view bytes);

// Appends `v` as base64 of its little-endian float32 bytes, as OpenAI's
// `encoding_format: "base64"` carries embeddings.
void AppendFloatsBase64(std::string& out, std::span<const float> v);

}  // namespace modeld::httpapi
