#pragma once

#include "internal/httpapi/stream_format.h"

namespace modeld::httpapi {

// The /infer wire formats: text/event-stream (event: token|done|error) or,
// with Accept: application/x-ndjson, one JSON object per line with "type".
class NativeFormat final : public StreamFormat {
 public:
  enum class Kind { kSse, kNdjson };
  explicit NativeFormat(Kind kind) : kind_(kind) {}

  std::string_view content_type() const override;
  void AppendText(std::string& out, std::string_view text) override;
  void AppendDone(std::string& out, const manager::Outcome& outcome) override;
  void AppendError(std::string& out, const Status& status) override;
  std::string CompleteBody(const manager::Outcome& outcome, std::string_view text) override;
  std::string ErrorBody(const Status& status) override;

 private:
  void AppendEvent(std::string& out, std::string_view type, std::string_view json);
  const Kind kind_;
};

}  // namespace modeld::httpapi
