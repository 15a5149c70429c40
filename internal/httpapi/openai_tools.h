#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pkg/types/status.h"

namespace modeld::httpapi {

// OpenAI tool calling on any model, by one JSON reply format (llama.cpp's
// "generic" format, which it used for templates without tool markup):
//
//   {"tool_calls": [{"name": "f", "arguments": {...}}, ...]}   a call
//   {"response": "text"}                                      a reply (auto)
//
// The tools and this format are described to the model in a system
// message, and a JSON schema of exactly these shapes (each tool's name and
// its parameters' schema) constrains sampling, so a forced call is
// well-formed whatever the weights. docs/decisions.md says why.

struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters;  // a JSON schema object
};

enum class ToolChoice { kNone, kAuto, kRequired };

// The tools of one request; `tools` holds only the forced one for a named
// tool_choice.
struct ToolRequest {
  std::vector<ToolSpec> tools;
  ToolChoice choice = ToolChoice::kAuto;
  bool parallel = true;
  // Tools are offered: some tool and a choice other than none.
  bool active() const { return !tools.empty() && choice != ToolChoice::kNone; }
};

// Reads `tools`, `tool_choice` and `parallel_tool_calls`. Wrong shapes, an
// unknown forced name, or tool_choice "required"/named without tools are
// InvalidRequest naming the field.
Status ReadTools(const nlohmann::json& body, ToolRequest& out);

// The JSON schema of the reply format for `t` (active).
std::string ToolReplySchema(const ToolRequest& t);

// The system message that describes the tools and the reply format.
std::string ToolSystemPrompt(const ToolRequest& t);

// An assistant message's `tool_calls` in history, written in the reply
// format so that the model sees its own earlier calls as it would make
// them. `tool_calls` is OpenAI's array; wrong shapes are InvalidRequest
// naming `where`.
Status ToolCallsAsText(const nlohmann::json& tool_calls, const std::string& where,
                       std::string& out);

struct ParsedToolCall {
  std::string id;  // "call_" and 24 random characters
  std::string name;
  std::string arguments;  // JSON text, as OpenAI sends it
};

// A model's reply in the reply format: tool calls, or content.
struct ParsedToolReply {
  std::vector<ParsedToolCall> calls;
  std::string content;
};

// Parses `text`. False when it is not in the reply format (a reply cut by
// max_tokens); the caller then returns the text as it is.
bool ParseToolReply(std::string_view text, ParsedToolReply& out);

}  // namespace modeld::httpapi
