#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "internal/manager/request.h"
#include "pkg/types/status.h"

namespace modeld::httpapi {

// "stop" or "length", as both wire formats name it.
inline std::string_view FinishReasonName(llm::FinishReason r) {
  return r == llm::FinishReason::kLength ? "length" : "stop";
}

// How one inference response is framed on the wire: the native SSE and
// ndjson formats, and the OpenAI ones. Append* run on the streaming path and
// must not allocate once `out` has capacity.
// Thread-safety: used by one exchange on the io thread.
class StreamFormat {
 public:
  virtual ~StreamFormat() = default;
  virtual std::string_view content_type() const = 0;
  virtual void AppendText(std::string& out, std::string_view text) = 0;
  virtual void AppendDone(std::string& out, const manager::Outcome& outcome) = 0;
  virtual void AppendError(std::string& out, const Status& status) = 0;
  // The whole response for "stream": false.
  virtual std::string CompleteBody(const manager::Outcome& outcome, std::string_view text) = 0;
  // The body of an error known before anything was streamed.
  virtual std::string ErrorBody(const Status& status) = 0;
};
using StreamFormatPtr = std::unique_ptr<StreamFormat>;

}  // namespace modeld::httpapi
