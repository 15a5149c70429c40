// Fuzz target: one body through both OpenAI parsers, ParseChatRequest
// (/v1/chat/completions) and ParseCompletionRequest (/v1/completions). A body
// that parses must hold only values the handler and the engine accept.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "internal/httpapi/infer_request.h"
#include "internal/httpapi/openai_request.h"

namespace {

using modeld::fuzz::Check;

void CheckCommon(const modeld::httpapi::OpenAiCall& call) {
  const auto& p = call.params;
  Check(p.max_tokens >= 1 && p.max_tokens <= modeld::httpapi::kMaxTokensLimit,
        "max_tokens in range");
  Check(p.sampling.temperature >= 0.0f && p.sampling.temperature <= 2.0f, "temperature in range");
  Check(p.sampling.top_p >= 0.0f && p.sampling.top_p <= 1.0f, "top_p in range");
  Check(p.stop.size() <= 4, "at most 4 stop strings");
  for (const auto& s : p.stop) Check(!s.empty(), "stop strings are non-empty");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (auto chat = modeld::httpapi::ParseChatRequest(body); chat.ok()) {
    CheckCommon(*chat);
    Check(chat->params.messages.has_value() && !chat->params.messages->empty(),
          "a chat has messages");
    for (const auto& m : *chat->params.messages) {
      // "tool": a tool's result, which the template renders (issue 15).
      Check(m.role == "system" || m.role == "user" || m.role == "assistant" || m.role == "tool",
            "roles are the template's");
      Check(m.role == "assistant" || m.tool_calls.empty(), "only the assistant calls tools");
    }
  }
  if (auto completion = modeld::httpapi::ParseCompletionRequest(body); completion.ok()) {
    CheckCommon(*completion);
    Check(!completion->params.prompt.empty(), "a completion has a prompt");
  }
  return 0;
}
