#include "internal/httpapi/openai_tools.h"

#include <random>

#include "internal/httpapi/json_fields.h"

namespace modeld::httpapi {
namespace {

using nlohmann::json;

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

Status ReadTool(const json& t, const std::string& where, llm::ToolSpec& out) {
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
  out.parameters = R"({"type":"object"})";
  if (const json* p = Field(*fn, "parameters")) {
    if (!p->is_object()) return Invalid(where + ".function.parameters", "a JSON schema object");
    if (!p->empty()) out.parameters = p->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return Status::Ok();
}

}  // namespace

Status ReadTools(const json& body, llm::ToolRequest& out) {
  if (const json* tools = Field(body, "tools")) {
    if (!tools->is_array()) return Invalid("tools", "an array");
    for (size_t i = 0; i < tools->size(); ++i) {
      llm::ToolSpec spec;
      if (Status st = ReadTool((*tools)[i], "tools[" + std::to_string(i) + "]", spec); !st.ok()) {
        return st;
      }
      for (const llm::ToolSpec& other : out.tools) {
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
  out.choice = out.tools.empty() ? llm::ToolChoice::kNone : llm::ToolChoice::kAuto;
  const json* choice = Field(body, "tool_choice");
  if (choice == nullptr) return Status::Ok();
  if (choice->is_string()) {
    const std::string c = choice->get<std::string>();
    if (c == "none") {
      out.choice = llm::ToolChoice::kNone;
    } else if (c == "auto") {
      out.choice = out.tools.empty() ? llm::ToolChoice::kNone : llm::ToolChoice::kAuto;
    } else if (c == "required") {
      if (out.tools.empty()) return Invalid("tool_choice", "\"none\" when no tools are given");
      out.choice = llm::ToolChoice::kRequired;
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
  for (const llm::ToolSpec& t : out.tools) {
    if (t.name == name->get_ref<const std::string&>()) {
      llm::ToolSpec forced = t;
      out.tools = {std::move(forced)};
      out.choice = llm::ToolChoice::kRequired;
      return Status::Ok();
    }
  }
  return Status::InvalidRequest("field 'tool_choice' names function " + name->dump() +
                                ", which is not in 'tools'");
}

Status ReadToolCalls(const json& tool_calls, const std::string& where,
                     std::vector<llm::ToolCall>& out) {
  if (!tool_calls.is_array()) return Invalid(where, "an array");
  for (size_t i = 0; i < tool_calls.size(); ++i) {
    const json& c = tool_calls[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    const json* fn = c.is_object() ? Field(c, "function") : nullptr;
    if (fn == nullptr || !fn->is_object()) return Invalid(at + ".function", "an object");
    const json* name = Field(*fn, "name");
    if (name == nullptr || !name->is_string()) return Invalid(at + ".function.name", "a string");
    llm::ToolCall call;
    call.name = name->get<std::string>();
    if (const json* id = Field(c, "id")) {
      if (!id->is_string()) return Invalid(at + ".id", "a string");
      call.id = id->get<std::string>();
    }
    if (const json* a = Field(*fn, "arguments")) {
      call.arguments = a->is_string() ? a->get<std::string>()
                                      : a->dump(-1, ' ', false, json::error_handler_t::replace);
    }
    out.push_back(std::move(call));
  }
  return Status::Ok();
}

std::string NewCallId() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kChars) - 2);
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id.push_back(kChars[pick(rng)]);
  return id;
}

}  // namespace modeld::httpapi
