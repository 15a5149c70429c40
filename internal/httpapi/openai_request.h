#pragma once

#include <string>
#include <string_view>

#include "internal/httpapi/openai_tools.h"
#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

enum class OpenAiKind { kCompletion, kChat };

// A validated POST /v1/completions or /v1/chat/completions body.
struct OpenAiCall {
  OpenAiKind kind = OpenAiKind::kChat;
  std::string model;  // empty: the current model
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // Tools offered to the model (chat only) are in params.tools; when
  // active, the reply is parsed into tool calls (GenerateStats::tool_parser).
  llm::GenerateParams params;
};

// Parses and validates a body. Wrong types and out-of-range values are
// InvalidRequest; fields whose meaning modeld cannot honour (n > 1,
// logprobs, ...) are UnsupportedParameter. Both name the field. Other unknown
// fields are ignored.
Result<OpenAiCall> ParseChatRequest(std::string_view body);
Result<OpenAiCall> ParseCompletionRequest(std::string_view body);

// Defaults that differ from /infer: OpenAI's sampling semantics (temperature
// and top_p 1, no top_k or min_p), and its token limits (none for chat, 16
// for completions).
inline constexpr float kOpenAiTemperature = 1.0f;
inline constexpr float kOpenAiTopP = 1.0f;
inline constexpr int kOpenAiCompletionMaxTokens = 16;

}  // namespace modeld::httpapi
