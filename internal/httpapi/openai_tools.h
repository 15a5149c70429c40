#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "internal/llm/tool_types.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// OpenAI tool calling, read from a request. How the tools reach the model
// and how its reply is read back is the llm layer's business (the model's
// own template through llama.cpp's common library, or a generic JSON
// format; internal/llm/prompt_builder.h).

// Reads `tools`, `tool_choice` and `parallel_tool_calls`. Wrong shapes, an
// unknown forced name, or tool_choice "required"/named without tools are
// InvalidRequest naming the field. A named tool_choice leaves only that
// tool, required.
Status ReadTools(const nlohmann::json& body, llm::ToolRequest& out);

// An assistant message's `tool_calls` (OpenAI's array). Arguments keep
// their JSON text (an object given instead of a string is written out).
// Wrong shapes are InvalidRequest naming `where`.
Status ReadToolCalls(const nlohmann::json& tool_calls, const std::string& where,
                     std::vector<llm::ToolCall>& out);

// "call_" and 24 random characters, for calls whose format has no id.
std::string NewCallId();

}  // namespace modeld::httpapi
