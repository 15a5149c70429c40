#pragma once

// OpenAI-style tool calling, as the llm layer sees it: the tools a request
// offers, the calls in its history, and the parsed reply. Plain data (JSON
// kept as text), so the manager and httpapi use it without llama.cpp.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modeld::llm {

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object"})";  // a JSON schema object, as JSON text
};

enum class ToolChoice { kNone, kAuto, kRequired };

// The tools of one request; `tools` holds only the forced one for a named
// tool_choice.
struct ToolRequest {
  std::vector<ToolSpec> tools;
  ToolChoice choice = ToolChoice::kNone;
  bool parallel = true;
  // Tools are offered: some tool and a choice other than none.
  bool active() const { return !tools.empty() && choice != ToolChoice::kNone; }
};

// One call: in an assistant message of the history, or parsed from a reply.
struct ToolCall {
  std::string id;  // empty when the model's format has none
  std::string name;
  std::string arguments;  // JSON text, as OpenAI sends it
};

// A model's reply to a request with tools: calls, content, or both.
struct ToolReply {
  std::vector<ToolCall> calls;
  std::string content;
};

// Parses a finished reply of a request with active tools, in the format the
// prompt asked for (the model's own tool markup through llama.cpp's common
// library, or modeld's generic JSON format). Made per request by
// Model::Prepare; travels back in GenerateStats.
// Thread-safety: immutable; Parse may run on any thread.
class ToolReplyParser {
 public:
  virtual ~ToolReplyParser() = default;
  // False when `text` is not in the format (the caller then returns it as
  // content).
  virtual bool Parse(std::string_view text, ToolReply& out) const = 0;
  // "native" (the template's markup) or "generic"; for logs and tests.
  virtual std::string_view format() const = 0;
};
using ToolReplyParserPtr = std::shared_ptr<const ToolReplyParser>;

}  // namespace modeld::llm
