#pragma once

#include <string>
#include <string_view>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// A validated POST /infer body.
struct InferCall {
  std::string model;  // empty: the current model
  bool stream = true;
  bool max_tokens_given = false;  // the default (256) is not checked against ctx_size
  llm::GenerateParams params;
};

// Parses and validates a /infer body. Unknown fields are ignored; a wrong
// type or an out-of-range value is InvalidRequest naming the field.
Result<InferCall> ParseInferRequest(std::string_view body);

// Largest max_tokens accepted; generation also ends when the context is full.
inline constexpr long long kMaxTokensLimit = 1 << 20;

}  // namespace modeld::httpapi
