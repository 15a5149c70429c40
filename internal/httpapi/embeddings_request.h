#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// The most inputs one embeddings request may hold (OpenAI's limit).
inline constexpr size_t kMaxEmbeddingInputs = 2048;

// A parsed embeddings request (POST /v1/embeddings and POST /embed).
struct EmbeddingsCall {
  std::string model;  // may be empty: the current model
  std::vector<llm::EmbedInput> inputs;
  bool base64 = false;  // encoding_format "base64": little-endian float32 bytes
};

// Parses the body. `input` is a string, an array of strings, an array of
// token ids (one input) or an array of such arrays, as OpenAI accepts; no
// input may be empty. `encoding_format` is "float" (default) or "base64".
// `dimensions` is refused (modeld cannot shorten a model's vectors); `user`
// and unknown fields are ignored.
Result<EmbeddingsCall> ParseEmbeddingsRequest(std::string_view body);

}  // namespace modeld::httpapi
