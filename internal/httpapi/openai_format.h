#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "internal/httpapi/openai_request.h"
#include "internal/httpapi/stream_format.h"

namespace modeld::httpapi {

// What every chunk and response of one OpenAI call shares.
struct OpenAiResponseInfo {
  OpenAiKind kind = OpenAiKind::kChat;
  bool stream = false;
  bool include_usage = false;
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // unix seconds
  // The request offered tools: text is held back and sent at the end as
  // tool_calls or content, as the outcome's tool_parser reads it.
  bool tool_reply = false;
};

// The OpenAI wire formats. Streaming: SSE `data: {chunk}` events
// (chat.completion.chunk or text_completion objects; the first chat chunk
// carries the assistant role), a final chunk with finish_reason, an optional
// usage chunk, then `data: [DONE]`. An error after streaming began is a
// `data: {"error":{...}}` event followed by `data: [DONE]`. Non-streaming:
// one chat.completion or text_completion object with usage. A tool reply
// becomes message.tool_calls (finish_reason "tool_calls"), streamed as one
// delta.tool_calls chunk per call once the reply is complete.
// Thread-safety: used by one exchange on the io thread.
class OpenAiFormat final : public StreamFormat {
 public:
  // The chunks name `request->model`, which the manager resolves in Submit
  // (on the io thread, before any chunk is framed).
  OpenAiFormat(OpenAiResponseInfo info, std::shared_ptr<const manager::Request> request);

  std::string_view content_type() const override;
  void AppendText(std::string& out, std::string_view text) override;
  void AppendDone(std::string& out, const manager::Outcome& outcome) override;
  void AppendError(std::string& out, const Status& status) override;
  std::string CompleteBody(const manager::Outcome& outcome, std::string_view text) override;
  std::string ErrorBody(const Status& status) override;

 private:
  void EnsureHead();
  void AppendRoleChunk(std::string& out);
  void AppendChoiceChunk(std::string& out, std::string_view text, std::string_view finish);
  // The held-back tool reply as chunks; returns the finish reason.
  std::string_view AppendToolReply(std::string& out, const manager::Outcome& outcome);

  const OpenAiResponseInfo info_;
  const std::shared_ptr<const manager::Request> request_;
  std::string head_;  // `data: {"id":...,"model":...,"choices":[`, built once
  bool role_sent_ = false;
  std::string held_;  // the tool reply so far (tool_reply only)
};

}  // namespace modeld::httpapi
