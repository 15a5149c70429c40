#include "internal/httpapi/openai_tools.h"

#include <random>

namespace modeld::httpapi {
namespace {

using nlohmann::json;

const json* Field(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status Invalid(std::string_view field, std::string_view what) {
  return Status::InvalidRequest("field '" + std::string(field) + "' must be " + std::string(what));
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Status ReadTool(const json& t, const std::string& where, ToolSpec& out) {
  if (!t.is_object()) return Invalid(where, "an object");
  const json* type = Field(t, "type");
  if (type == nullptr || *type != "function") return Invalid(where + ".type", "\"function\"");
  const json* fn = Field(t, "function");
  if (fn == nullptr || !fn->is_object()) return Invalid(where + ".function", "an object");
  const json* name = Field(*fn, "name");
  if (name == nullptr || !name->is_string() || !ValidName(name->get<std::string>())) {
    return Invalid(where + ".function.name", "1-64 letters, digits, '_', '-' or '.'");
  }
  out.name = name->get<std::string>();
  if (const json* d = Field(*fn, "description")) {
    if (!d->is_string()) return Invalid(where + ".function.description", "a string");
    out.description = d->get<std::string>();
  }
  out.parameters = json{{"type", "object"}};
  if (const json* p = Field(*fn, "parameters")) {
    if (!p->is_object()) return Invalid(where + ".function.parameters", "a JSON schema object");
    if (!p->empty()) out.parameters = *p;
  }
  return Status::Ok();
}

// Schemas keep their keys in this order (ordered_json): the grammar
// follows the order of "properties", so a call names its function first.
using ojson = nlohmann::ordered_json;

ojson CallSchema(const ToolSpec& t) {
  ojson call = ojson::object();
  call["type"] = "object";
  call["properties"]["name"]["const"] = t.name;
  call["properties"]["arguments"] = ojson::parse(t.parameters.dump());
  call["required"] = ojson::array({"name", "arguments"});
  call["additionalProperties"] = false;
  return call;
}

std::string NewCallId() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kChars) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id.push_back(kChars[pick(rng)]);
  return id;
}

}  // namespace

Status ReadTools(const json& body, ToolRequest& out) {
  if (const json* tools = Field(body, "tools")) {
    if (!tools->is_array()) return Invalid("tools", "an array");
    for (size_t i = 0; i < tools->size(); ++i) {
      ToolSpec spec;
      if (Status st = ReadTool((*tools)[i], "tools[" + std::to_string(i) + "]", spec); !st.ok()) {
        return st;
      }
      for (const ToolSpec& other : out.tools) {
        if (other.name == spec.name) {
          return Status::InvalidRequest("field 'tools' names function '" + spec.name + "' twice");
        }
      }
      out.tools.push_back(std::move(spec));
    }
  }
  if (const json* p = Field(body, "parallel_tool_calls")) {
    if (!p->is_boolean()) return Invalid("parallel_tool_calls", "a boolean");
    out.parallel = p->get<bool>();
  }
  // OpenAI's default: "auto" with tools, "none" without.
  out.choice = out.tools.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
  const json* choice = Field(body, "tool_choice");
  if (choice == nullptr) return Status::Ok();
  if (choice->is_string()) {
    const std::string c = choice->get<std::string>();
    if (c == "none") {
      out.choice = ToolChoice::kNone;
    } else if (c == "auto") {
      out.choice = out.tools.empty() ? ToolChoice::kNone : ToolChoice::kAuto;
    } else if (c == "required") {
      if (out.tools.empty()) return Invalid("tool_choice", "\"none\" when no tools are given");
      out.choice = ToolChoice::kRequired;
    } else {
      return Invalid("tool_choice", "\"none\", \"auto\", \"required\" or a named function");
    }
    return Status::Ok();
  }
  const json* fn = choice->is_object() ? Field(*choice, "function") : nullptr;
  const json* name = fn != nullptr && fn->is_object() ? Field(*fn, "name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    return Invalid("tool_choice",
                   "\"none\", \"auto\", \"required\" or {\"type\":\"function\","
                   "\"function\":{\"name\":...}}");
  }
  for (const ToolSpec& t : out.tools) {
    if (t.name == *name) {
      ToolSpec forced = t;
      out.tools = {std::move(forced)};
      out.choice = ToolChoice::kRequired;
      return Status::Ok();
    }
  }
  return Status::InvalidRequest("field 'tool_choice' names function " + name->dump() +
                                ", which is not in 'tools'");
}

std::string ToolReplySchema(const ToolRequest& t) {
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

std::string ToolSystemPrompt(const ToolRequest& t) {
  json list = json::array();
  for (const ToolSpec& spec : t.tools) {
    json fn = {{"name", spec.name}, {"parameters", spec.parameters}};
    if (!spec.description.empty()) fn["description"] = spec.description;
    list.push_back(std::move(fn));
  }
  std::string out = "You can call these functions:\n";
  out.append(list.dump(2));
  out.append(
      "\n\nReply with one JSON object only. To call functions: "
      "{\"tool_calls\": [{\"name\": <function name>, \"arguments\": <arguments object>}]}");
  if (t.choice != ToolChoice::kRequired) {
    out.append(". To answer without calling a function: {\"response\": <your answer>}");
  }
  out.append(".");
  return out;
}

Status ToolCallsAsText(const json& tool_calls, const std::string& where, std::string& out) {
  if (!tool_calls.is_array()) return Invalid(where, "an array");
  ojson calls = ojson::array();
  for (size_t i = 0; i < tool_calls.size(); ++i) {
    const json& c = tool_calls[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json* fn = c.is_object() ? Field(c, "function") : nullptr;
    if (fn == nullptr || !fn->is_object()) return Invalid(at + ".function", "an object");
    const json* name = Field(*fn, "name");
    if (name == nullptr || !name->is_string()) return Invalid(at + ".function.name", "a string");
    json args = json::object();
    if (const json* a = Field(*fn, "arguments")) {
      if (a->is_string()) {
        args = json::parse(a->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (args.is_discarded()) args = *a;  // not JSON: keep the text
      } else {
        args = *a;
      }
    }
    ojson call = ojson::object();
    call["name"] = name->get<std::string>();
    call["arguments"] = ojson::parse(args.dump());
    calls.push_back(std::move(call));
  }
  ojson reply = ojson::object();
  reply["tool_calls"] = std::move(calls);
  out = reply.dump(-1, ' ', false, ojson::error_handler_t::replace);
  return Status::Ok();
}

bool ParseToolReply(std::string_view text, ParsedToolReply& out) {
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
    out.calls.push_back({NewCallId(), name->get<std::string>(),
                         args == c.end()
                             ? std::string("{}")
                             : args->dump(-1, ' ', false, ojson::error_handler_t::replace)});
  }
  return true;
}

}  // namespace modeld::httpapi
