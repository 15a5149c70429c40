#include "internal/httpapi/infer_request.h"

#include "internal/httpapi/json_fields.h"

namespace modeld::httpapi {
namespace {

// `json_schema` (an object) or `grammar` (GBNF text), at most one. Their
// content is checked against the model's vocabulary later (Prepare, or the
// check before a switch).
Status ReadConstraint(const nlohmann::json& j, llm::GenerateParams& p) {
  if (auto it = j.find("json_schema"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return Status::InvalidRequest("field 'json_schema' must be an object");
    p.json_schema = it->dump();
  }
  if (Status st = ReadString(j, "grammar", p.grammar); !st.ok()) return st;
  if (!p.json_schema.empty() && !p.grammar.empty()) {
    return Status::InvalidRequest("fields 'json_schema' and 'grammar' cannot be used together");
  }
  return Status::Ok();
}

}  // namespace

Result<InferCall> ParseInferRequest(std::string_view body) {
  auto parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  const nlohmann::json& j = parsed.value();
  InferCall call;
  auto& p = call.params;
  auto& s = p.sampling;

  const auto prompt = j.find("prompt");
  if (prompt == j.end() || prompt->is_null()) {
    return Status::InvalidRequest("field 'prompt' is required");
  }
  if (!prompt->is_string() || prompt->get_ref<const std::string&>().empty()) {
    return Status::InvalidRequest("field 'prompt' must be a non-empty string");
  }
  p.prompt = prompt->get<std::string>();

  long long max_tokens = p.max_tokens;
  long long top_k = s.top_k;
  long long seed = -1;
  for (Status st : {
           ReadString(j, "model", call.model),
           ReadBool(j, "stream", call.stream),
           ReadInt(j, "max_tokens", 1, kMaxTokensLimit, max_tokens),
           ReadFloat(j, "temperature", 0.0, 2.0, s.temperature),
           ReadFloat(j, "top_p", 0.0, 1.0, s.top_p),
           ReadInt(j, "top_k", 0, 1 << 20, top_k),
           ReadFloat(j, "min_p", 0.0, 1.0, s.min_p),
           ReadInt(j, "seed", 0, 0xFFFFFFFFll, seed),
           ReadStop(j, "stop", 16, p.stop),
       }) {
    if (!st.ok()) return st;
  }
  if (Status st = ReadConstraint(j, p); !st.ok()) return st;
  p.max_tokens = static_cast<int>(max_tokens);
  call.max_tokens_given = j.contains("max_tokens") && !j["max_tokens"].is_null();
  s.top_k = static_cast<int>(top_k);
  if (seed >= 0) s.seed = static_cast<uint32_t>(seed);
  return call;
}

}  // namespace modeld::httpapi
