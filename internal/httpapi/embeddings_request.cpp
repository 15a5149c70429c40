#include "internal/httpapi/embeddings_request.h"

#include <cstdint>
#include <limits>

#include "internal/httpapi/json_fields.h"

namespace modeld::httpapi {
namespace {

using nlohmann::json;

Status Invalid(std::string_view what) {
  return Status::InvalidRequest("field 'input' must be " + std::string(what));
}

bool IsTokenId(const json& j) {
  return j.is_number_integer() && j.get<int64_t>() >= 0 &&
         j.get<int64_t>() <= std::numeric_limits<int32_t>::max();
}

// One array of token ids (non-empty, each a non-negative int32).
Status ReadTokens(const json& arr, llm::EmbedInput& out) {
  if (arr.empty()) return Status::InvalidRequest("field 'input' must not hold an empty array");
  std::vector<int32_t> tokens;
  tokens.reserve(arr.size());
  for (const json& t : arr) {
    if (!IsTokenId(t)) return Invalid("a string, an array of strings or of token ids");
    tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  out.tokens = std::move(tokens);
  return Status::Ok();
}

Status ReadText(const json& s, llm::EmbedInput& out) {
  out.text = s.get<std::string>();
  if (out.text.empty())
    return Status::InvalidRequest("field 'input' must not hold an empty string");
  return Status::Ok();
}

Status ReadInputs(const json& j, std::vector<llm::EmbedInput>& out) {
  auto it = j.find("input");
  if (it == j.end() || it->is_null()) return Status::InvalidRequest("field 'input' is required");
  const json& in = *it;
  if (in.is_string()) return ReadText(in, out.emplace_back());
  if (!in.is_array()) return Invalid("a string or an array");
  if (in.empty()) return Status::InvalidRequest("field 'input' must not be empty");
  if (in.size() > kMaxEmbeddingInputs) {
    return Status::InvalidRequest("field 'input' must hold at most " +
                                  std::to_string(kMaxEmbeddingInputs) + " inputs");
  }
  // An array of numbers is one input given as tokens.
  if (in.front().is_number()) return ReadTokens(in, out.emplace_back());
  out.reserve(in.size());
  for (const json& e : in) {
    if (e.is_string()) {
      if (Status st = ReadText(e, out.emplace_back()); !st.ok()) return st;
    } else if (e.is_array()) {
      if (Status st = ReadTokens(e, out.emplace_back()); !st.ok()) return st;
    } else {
      return Invalid("a string, an array of strings or of token ids");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<EmbeddingsCall> ParseEmbeddingsRequest(std::string_view body) {
  Result<json> parsed = ParseObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = parsed.value();
  EmbeddingsCall call;
  if (Status st = ReadString(j, "model", call.model); !st.ok()) return st;
  std::string format = "float";
  if (Status st = ReadString(j, "encoding_format", format); !st.ok()) return st;
  if (format != "float" && format != "base64") {
    return Status::InvalidRequest("field 'encoding_format' must be \"float\" or \"base64\"");
  }
  call.base64 = format == "base64";
  if (auto d = j.find("dimensions"); d != j.end() && !d->is_null()) {
    return Status::Unsupported(
        "field 'dimensions' is not supported: modeld returns the model's full vectors");
  }
  if (Status st = ReadInputs(j, call.inputs); !st.ok()) return st;
  return call;
}

}  // namespace modeld::httpapi
