#include "internal/llm/tool_generic.h"

#include <nlohmann/json.hpp>

namespace modeld::llm {
namespace {

// Schemas keep their keys in this order (ordered_json): the grammar
// follows the order of "properties", so a call names its function first.
using ojson = nlohmann::ordered_json;

ojson CallSchema(const ToolSpec& t) {
  ojson call = ojson::object();
  call["type"] = "object";
  call["properties"]["name"]["const"] = t.name;
  call["properties"]["arguments"] = ojson::parse(t.parameters, nullptr, false);
  if (call["properties"]["arguments"].is_discarded()) {
    call["properties"]["arguments"] = ojson{{"type", "object"}};
  }
  call["required"] = ojson::array({"name", "arguments"});
  call["additionalProperties"] = false;
  return call;
}

// A call's arguments as JSON: the text parsed, or kept as a string when it
// is not JSON.
ojson Arguments(const std::string& text) {
  if (text.empty()) return ojson::object();
  ojson args = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  return args.is_discarded() ? ojson(text) : args;
}

std::string CallsAsText(const std::vector<ToolCall>& tool_calls) {
  ojson calls = ojson::array();
  for (const ToolCall& c : tool_calls) {
    ojson call = ojson::object();
    call["name"] = c.name;
    call["arguments"] = Arguments(c.arguments);
    calls.push_back(std::move(call));
  }
  ojson reply = ojson::object();
  reply["tool_calls"] = std::move(calls);
  return reply.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

class GenericParser final : public ToolReplyParser {
 public:
  bool Parse(std::string_view text, ToolReply& out) const override {
    // ordered_json: the arguments keep the order the model wrote them in.
    const ojson j = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return false;
    if (auto r = j.find("response"); r != j.end() && r->is_string()) {
      out.content = r->get<std::string>();
      return true;
    }
    auto calls = j.find("tool_calls");
    if (calls == j.end() || !calls->is_array() || calls->empty()) return false;
    for (const ojson& c : *calls) {
      if (!c.is_object()) return false;
      auto name = c.find("name");
      if (name == c.end() || !name->is_string()) return false;
      auto args = c.find("arguments");
      out.calls.push_back({"", name->get<std::string>(),
                           args == c.end()
                               ? std::string("{}")
                               : args->dump(-1, ' ', false, ojson::error_handler_t::replace)});
    }
    return true;
  }
  std::string_view format() const override { return "generic"; }
};

}  // namespace

std::string GenericToolSchema(const ToolRequest& t) {
  ojson calls = ojson::array();
  for (const ToolSpec& spec : t.tools) calls.push_back(CallSchema(spec));
  ojson item = ojson::object();
  if (calls.size() == 1) {
    item = calls[0];
  } else {
    item["anyOf"] = calls;
  }
  ojson array = ojson::object();
  array["type"] = "array";
  array["items"] = item;
  array["minItems"] = 1;
  if (!t.parallel) array["maxItems"] = 1;
  ojson call_reply = ojson::object();
  call_reply["type"] = "object";
  call_reply["properties"]["tool_calls"] = array;
  call_reply["required"] = ojson::array({"tool_calls"});
  call_reply["additionalProperties"] = false;
  if (t.choice == ToolChoice::kRequired) return call_reply.dump();
  ojson text_reply = ojson::object();
  text_reply["type"] = "object";
  text_reply["properties"]["response"]["type"] = "string";
  text_reply["required"] = ojson::array({"response"});
  text_reply["additionalProperties"] = false;
  ojson either = ojson::object();
  either["anyOf"] = ojson::array({call_reply, text_reply});
  return either.dump();
}

std::string GenericToolSystemPrompt(const ToolRequest& t) {
  ojson list = ojson::array();
  for (const ToolSpec& spec : t.tools) {
    ojson fn = ojson::object();
    fn["name"] = spec.name;
    if (!spec.description.empty()) fn["description"] = spec.description;
    fn["parameters"] = ojson::parse(spec.parameters, nullptr, false);
    if (fn["parameters"].is_discarded()) fn["parameters"] = ojson{{"type", "object"}};
    list.push_back(std::move(fn));
  }
  std::string out = "You can call these functions:\n";
  out.append(list.dump(2, ' ', false, ojson::error_handler_t::replace));
  out.append(
      "\n\nReply with one JSON object only. To call functions: "
      "{\"tool_calls\": [{\"name\": <function name>, \"arguments\": <arguments object>}]}");
  if (t.choice != ToolChoice::kRequired) {
    out.append(". To answer without calling a function: {\"response\": <your answer>}");
  }
  out.append(".");
  return out;
}

std::vector<ChatMessage> GenericToolMessages(const ToolRequest& t,
                                             const std::vector<ChatMessage>& messages) {
  std::vector<ChatMessage> out;
  out.reserve(messages.size() + 1);
  for (const ChatMessage& m : messages) {
    ChatMessage copy(m.role, m.content);
    if (!m.tool_calls.empty()) {
      if (!copy.content.empty()) copy.content.push_back('\n');
      copy.content.append(CallsAsText(m.tool_calls));
    }
    out.push_back(std::move(copy));
  }
  if (!t.active()) return out;
  std::string prompt = GenericToolSystemPrompt(t);
  if (!out.empty() && out.front().role == "system") {
    out.front().content.append("\n\n").append(prompt);
  } else {
    out.insert(out.begin(), ChatMessage("system", std::move(prompt)));
  }
  return out;
}

ToolReplyParserPtr GenericToolParser() {
  static const ToolReplyParserPtr parser = std::make_shared<GenericParser>();
  return parser;
}

}  // namespace modeld::llm
