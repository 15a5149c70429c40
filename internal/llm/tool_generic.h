#pragma once

// modeld's generic tool format, for chat templates without tool markup (the
// fallback of PromptBuilder; docs/decisions.md says when). One JSON reply:
//
//   {"tool_calls": [{"name": "f", "arguments": {...}}, ...]}   a call
//   {"response": "text"}                                      a reply (auto)
//
// The tools and this format are described to the model in a system
// message, and a JSON schema of exactly these shapes (each tool's name and
// its parameters' schema) constrains sampling, so a forced call is
// well-formed whatever the weights.

#include <string>
#include <vector>

#include "internal/llm/adapter.h"

namespace modeld::llm {

// The JSON schema of the reply format for `t` (active).
std::string GenericToolSchema(const ToolRequest& t);

// The system message that describes the tools and the reply format.
std::string GenericToolSystemPrompt(const ToolRequest& t);

// `messages` as the generic format shows them to the model: the tools'
// description joins the first system message (or becomes one), and an
// assistant's earlier calls are written in the reply format after its
// content, so the model sees its calls as it would make them.
std::vector<ChatMessage> GenericToolMessages(const ToolRequest& t,
                                             const std::vector<ChatMessage>& messages);

// The parser of replies in the generic format (ids are left empty).
ToolReplyParserPtr GenericToolParser();

}  // namespace modeld::llm
