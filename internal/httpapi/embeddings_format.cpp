#include "internal/httpapi/embeddings_format.h"

#include <span>

#include <nlohmann/json.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/vector_text.h"

namespace modeld::httpapi {
namespace {

std::string JsonString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void EmbeddingsFormat::AppendVector(std::string& out, const manager::Outcome& outcome,
                                    size_t i) const {
  const auto n = static_cast<size_t>(outcome.stats.n_embd);
  std::span<const float> v = std::span<const float>(outcome.stats.embeddings).subspan(i * n, n);
  if (base64_) {
    out.push_back('"');
    AppendFloatsBase64(out, v);
    out.push_back('"');
  } else {
    AppendFloatArray(out, v);
  }
}

std::string EmbeddingsFormat::CompleteBody(const manager::Outcome& outcome, std::string_view) {
  const llm::GenerateStats& s = outcome.stats;
  const size_t count = s.n_embd > 0 ? s.embeddings.size() / static_cast<size_t>(s.n_embd) : 0;
  std::string out;
  // Numbers take at most ~14 bytes each; base64 ~5.4 per float.
  out.reserve(256 + s.embeddings.size() * (base64_ ? 6 : 14));
  const std::string tokens = std::to_string(s.prompt_tokens);
  if (kind_ == Kind::kOpenAi) {
    out += R"({"object":"list","data":[)";
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) out.push_back(',');
      out += R"({"object":"embedding","index":)";
      out += std::to_string(i);
      out += R"(,"embedding":)";
      AppendVector(out, outcome, i);
      out.push_back('}');
    }
    out += R"(],"model":)" + JsonString(outcome.model);
    out += R"(,"usage":{"prompt_tokens":)" + tokens + R"(,"total_tokens":)" + tokens + "}}";
    return out;
  }
  out += R"({"model":)" + JsonString(outcome.model) + R"(,"embeddings":[)";
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back(',');
    AppendVector(out, outcome, i);
  }
  out += R"(],"usage":{"prompt_tokens":)" + tokens + "}";
  nlohmann::json timings = {{"queue_ms", outcome.timings.queue_ms},
                            {"switch_ms", outcome.timings.switch_ms},
                            {"prompt_ms", outcome.timings.prompt_ms}};
  out += R"(,"timings":)" + timings.dump() + "}";
  return out;
}

std::string EmbeddingsFormat::ErrorBody(const Status& status) {
  return kind_ == Kind::kOpenAi ? OpenAiErrorBody(status) : NativeErrorBody(status);
}

}  // namespace modeld::httpapi
