#include "internal/httpapi/openai_request.h"

#include <climits>

#include "internal/httpapi/infer_request.h"
#include "internal/httpapi/json_fields.h"

namespace modeld::httpapi {
namespace {

using nlohmann::json;

Status Refuse(std::string_view field, std::string_view why) {
  return Status::Unsupported("field '" + std::string(field) +
                             "' is not supported: " + std::string(why));
}

Status Invalid(std::string_view field, std::string_view what) {
  return Status::InvalidRequest("field '" + std::string(field) + "' must be " + std::string(what));
}

// Accepted only when absent, null, an empty array or an empty object.
Status RefuseNonEmpty(const json& j, std::string_view field, std::string_view why) {
  const json* f = Field(j, field);
  if (f == nullptr || ((f->is_array() || f->is_object()) && f->empty())) return Status::Ok();
  return Refuse(field, why);
}

// Accepted when absent, null, "none" or "auto": without functions both
// mean plain text, which is what modeld produces.
Status RefuseChoice(const json& j, std::string_view field) {
  const json* f = Field(j, field);
  if (f == nullptr || (f->is_string() && (*f == "none" || *f == "auto"))) return Status::Ok();
  return Refuse(field, "use 'tools' and 'tool_choice' instead of the deprecated functions");
}

// response_format: text (free), json_object (any JSON object) or
// json_schema (its "schema"; "strict" or not, the schema is enforced).
Status ReadResponseFormat(const json& j, llm::GenerateParams& p) {
  const json* rf = Field(j, "response_format");
  if (rf == nullptr) return Status::Ok();
  const json* type = rf->is_object() ? Field(*rf, "type") : nullptr;
  if (type == nullptr || !type->is_string()) return Invalid("response_format.type", "a string");
  if (*type == "text") return Status::Ok();
  if (*type == "json_object") {
    p.json_schema = R"({"type":"object"})";
    return Status::Ok();
  }
  if (*type != "json_schema") {
    return Invalid("response_format.type", "\"text\", \"json_object\" or \"json_schema\"");
  }
  const json* js = Field(*rf, "json_schema");
  if (js == nullptr || !js->is_object()) {
    return Invalid("response_format.json_schema", "an object with a 'schema'");
  }
  if (const json* strict = Field(*js, "strict"); strict != nullptr && !strict->is_boolean()) {
    return Invalid("response_format.json_schema.strict", "a boolean");
  }
  const json* schema = Field(*js, "schema");
  if (schema == nullptr) {
    p.json_schema = R"({"type":"object"})";  // OpenAI: no schema, any JSON object
  } else if (!schema->is_object()) {
    return Invalid("response_format.json_schema.schema", "a JSON schema object");
  } else {
    p.json_schema = schema->dump();
  }
  return Status::Ok();
}

Status CheckN(const json& j) {
  long long n = 1;
  if (Status st = ReadInt(j, "n", 1, LLONG_MAX, n); !st.ok()) return st;
  if (n > 1) return Refuse("n", "modeld generates one choice per request (n must be 1)");
  return Status::Ok();
}

Status CheckBoolOff(const json& j, std::string_view field, std::string_view why) {
  bool on = false;
  if (Status st = ReadBool(j, field, on); !st.ok()) return st;
  return on ? Refuse(field, why) : Status::Ok();
}

// Fields both endpoints share: model, stream, sampling, limits, stop.
Status ReadCommon(const json& j, OpenAiCall& call, long long default_max_tokens) {
  auto& p = call.params;
  auto& s = p.sampling;
  s.temperature = kOpenAiTemperature;
  s.top_p = kOpenAiTopP;
  s.top_k = 0;
  s.min_p = 0.0f;
  long long max_tokens = default_max_tokens;
  long long seed = -1;
  bool seed_given = Field(j, "seed") != nullptr;
  for (Status st : {
           ReadString(j, "model", call.model),
           ReadBool(j, "stream", call.stream),
           ReadInt(j, "max_tokens", 1, kMaxTokensLimit, max_tokens),
           ReadInt(j, "max_completion_tokens", 1, kMaxTokensLimit, max_tokens),
           ReadFloat(j, "temperature", 0.0, 2.0, s.temperature),
           ReadFloat(j, "top_p", 0.0, 1.0, s.top_p),
           ReadFloat(j, "presence_penalty", -2.0, 2.0, s.presence_penalty),
           ReadFloat(j, "frequency_penalty", -2.0, 2.0, s.frequency_penalty),
           ReadInt(j, "seed", LLONG_MIN, LLONG_MAX, seed),
           ReadStop(j, "stop", 4, p.stop),
           CheckN(j),
           RefuseNonEmpty(j, "logit_bias", "modeld does not bias tokens"),
       }) {
    if (!st.ok()) return st;
  }
  p.max_tokens = static_cast<int>(max_tokens);
  // Reduced mod 2^32; -1 (2^32 - 1) is llama.cpp's "random seed".
  if (seed_given) s.seed = static_cast<uint32_t>(static_cast<unsigned long long>(seed));
  if (const json* so = Field(j, "stream_options")) {
    if (!so->is_object()) return Invalid("stream_options", "an object");
    if (Status st = ReadBool(*so, "include_usage", call.include_usage); !st.ok()) {
      return Invalid("stream_options.include_usage", "a boolean");
    }
  }
  return Status::Ok();
}

// A message's content: a string, or an array of {"type":"text","text":...}
// parts joined with newlines (as llama.cpp's server does).
Status ReadContent(const json& msg, const std::string& where, std::string& out) {
  const json* c = Field(msg, "content");
  if (c == nullptr) {
    if (Field(msg, "function_call") != nullptr) {
      return Refuse(where + ".function_call",
                    "use 'tool_calls' instead of the deprecated functions");
    }
    if (Field(msg, "tool_calls") != nullptr) {
      out.clear();  // an assistant's call without text
      return Status::Ok();
    }
    return Invalid(where + ".content", "a string or an array of text parts");
  }
  if (c->is_string()) {
    out = c->get<std::string>();
    return Status::Ok();
  }
  if (!c->is_array()) return Invalid(where + ".content", "a string or an array of text parts");
  out.clear();
  for (size_t i = 0; i < c->size(); ++i) {
    const json& part = (*c)[i];
    const std::string at = where + ".content[" + std::to_string(i) + "]";
    if (!part.is_object()) return Invalid(at, "an object");
    const json* type = Field(part, "type");
    if (type == nullptr || !type->is_string()) return Invalid(at + ".type", "a string");
    if (*type != "text") {
      return Refuse(at + ".type", "only \"text\" content parts are supported, not " + type->dump());
    }
    const json* text = Field(part, "text");
    if (text == nullptr || !text->is_string()) return Invalid(at + ".text", "a string");
    if (i > 0) out.push_back('\n');
    out.append(text->get_ref<const std::string&>());
  }
  return Status::Ok();
}

Status ReadMessages(const json& j, std::vector<llm::ChatMessage>& out) {
  const json* msgs = Field(j, "messages");
  if (msgs == nullptr) return Status::InvalidRequest("field 'messages' is required");
  if (!msgs->is_array() || msgs->empty()) return Invalid("messages", "a non-empty array");
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return Invalid(where, "an object");
    const json* role = Field(m, "role");
    if (role == nullptr || !role->is_string()) return Invalid(where + ".role", "a string");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // OpenAI's newer name for the system role
    if (r == "function") {
      return Refuse(where + ".role", "use the 'tool' role instead of the deprecated 'function'");
    }
    if (r != "system" && r != "user" && r != "assistant" && r != "tool") {
      return Invalid(where + ".role", "one of system, developer, user, assistant or tool");
    }
    const json* calls = Field(m, "tool_calls");
    if (calls != nullptr && r != "assistant") {
      return Invalid(where + ".tool_calls", "absent: only assistant messages carry tool calls");
    }
    llm::ChatMessage msg(std::move(r), {});
    if (Status st = ReadContent(m, where, msg.content); !st.ok()) return st;
    if (calls != nullptr) {
      if (Status st = ReadToolCalls(*calls, where + ".tool_calls", msg.tool_calls); !st.ok()) {
        return st;
      }
    }
    if (msg.role == "tool") {
      for (auto [key, field] :
           {std::pair{"tool_call_id", &msg.tool_call_id}, std::pair{"name", &msg.name}}) {
        const json* v = Field(m, key);
        if (v == nullptr) continue;
        if (!v->is_string()) return Invalid(where + "." + key, "a string");
        *field = v->get<std::string>();
      }
    }
    out.push_back(std::move(msg));
  }
  return Status::Ok();
}

}  // namespace

Result<OpenAiCall> ParseChatRequest(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = parsed.value();
  OpenAiCall call;
  call.kind = OpenAiKind::kChat;
  std::vector<llm::ChatMessage> messages;
  for (Status st : {
           ReadMessages(j, messages),
           ReadCommon(j, call, kMaxTokensLimit),
           CheckBoolOff(j, "logprobs", "modeld does not return log probabilities"),
           RefuseNonEmpty(j, "top_logprobs", "modeld does not return log probabilities"),
           ReadTools(j, call.params.tools),
           ReadResponseFormat(j, call.params),
           RefuseNonEmpty(j, "functions",
                          "use 'tools' and 'tool_choice' instead of the deprecated functions"),
           RefuseChoice(j, "function_call"),
           RefuseNonEmpty(j, "audio", "modeld generates text only"),
           RefuseNonEmpty(j, "prediction", "modeld does not use predicted outputs"),
           RefuseNonEmpty(j, "web_search_options", "modeld does not search the web"),
       }) {
    if (!st.ok()) return st;
  }
  if (call.params.tools.active() && !call.params.json_schema.empty()) {
    return Refuse("response_format",
                  "modeld cannot combine a JSON response_format with tools; send one of them");
  }
  if (const json* mod = Field(j, "modalities")) {
    if (!mod->is_array()) return Invalid("modalities", "an array of strings");
    for (const auto& m : *mod) {
      if (m != "text") return Refuse("modalities", "modeld generates text only");
    }
  }
  call.params.messages = std::move(messages);
  return call;
}

Result<OpenAiCall> ParseCompletionRequest(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = parsed.value();
  OpenAiCall call;
  call.kind = OpenAiKind::kCompletion;

  const json* prompt = Field(j, "prompt");
  if (prompt == nullptr) return Status::InvalidRequest("field 'prompt' is required");
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    prompt = &(*prompt)[0];  // a batch of one prompt
  } else if (prompt->is_array() && !prompt->empty()) {
    return Refuse("prompt", (*prompt)[0].is_string() ? "modeld completes one prompt per request"
                                                     : "token arrays are not supported; send text");
  }
  if (!prompt->is_string() || prompt->get_ref<const std::string&>().empty()) {
    return Invalid("prompt", "a non-empty string");
  }
  call.params.prompt = prompt->get<std::string>();

  long long logprobs = 0;
  long long best_of = 1;
  std::string suffix;
  for (Status st : {
           ReadCommon(j, call, kOpenAiCompletionMaxTokens),
           ReadInt(j, "logprobs", 0, 20, logprobs),
           ReadInt(j, "best_of", 1, 20, best_of),
           ReadString(j, "suffix", suffix),
           CheckBoolOff(j, "echo", "modeld does not echo the prompt"),
       }) {
    if (!st.ok()) return st;
  }
  if (logprobs > 0) return Refuse("logprobs", "modeld does not return log probabilities");
  if (best_of > 1) return Refuse("best_of", "modeld generates one choice per request");
  if (!suffix.empty()) return Refuse("suffix", "modeld does not insert text after a suffix");
  return call;
}

}  // namespace modeld::httpapi
