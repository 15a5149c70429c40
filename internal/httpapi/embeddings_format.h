#pragma once

#include <string>
#include <string_view>

#include "internal/httpapi/stream_format.h"

namespace modeld::httpapi {

// The response of an embeddings request, always one JSON object (an
// embeddings request never streams). OpenAI (`/v1/embeddings`):
// {"object":"list","data":[{"object":"embedding","index":i,"embedding":...}],
//  "model":...,"usage":{"prompt_tokens":n,"total_tokens":n}}.
// Native (`/embed`): {"model":...,"embeddings":[...],"usage":{...},"timings":{...}}.
// Each vector is an array of numbers, or with base64 a string of its
// little-endian float32 bytes.
// Thread-safety: used by one exchange on the io thread.
class EmbeddingsFormat final : public StreamFormat {
 public:
  enum class Kind { kOpenAi, kNative };
  EmbeddingsFormat(Kind kind, bool base64) : kind_(kind), base64_(base64) {}

  std::string_view content_type() const override { return "application/json"; }
  // Never called: the exchange runs with stream false.
  void AppendText(std::string&, std::string_view) override {}
  void AppendDone(std::string&, const manager::Outcome&) override {}
  void AppendError(std::string& out, const Status& status) override { out += ErrorBody(status); }
  std::string CompleteBody(const manager::Outcome& outcome, std::string_view text) override;
  std::string ErrorBody(const Status& status) override;

 private:
  void AppendVector(std::string& out, const manager::Outcome& outcome, size_t i) const;

  const Kind kind_;
  const bool base64_;
};

}  // namespace modeld::httpapi
