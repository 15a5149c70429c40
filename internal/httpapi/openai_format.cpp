#include "internal/httpapi/openai_format.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/json_text.h"
#include "internal/httpapi/openai_tools.h"

namespace modeld::httpapi {
namespace {

nlohmann::json Usage(const llm::GenerateStats& s) {
  return {{"prompt_tokens", s.prompt_tokens},
          {"completion_tokens", s.completion_tokens},
          {"total_tokens", s.prompt_tokens + s.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", s.cached_tokens}}}};
}

// The reply of a request with tools, parsed by the parser the model chose
// for it; false when it is cut by max_tokens or not in the format (then it
// is returned as content). Calls without an id get one.
bool ParseReply(const manager::Outcome& outcome, std::string_view text, llm::ToolReply& reply) {
  const llm::ToolReplyParserPtr& parser = outcome.stats.tool_parser;
  if (parser == nullptr || outcome.stats.finish == llm::FinishReason::kLength) return false;
  if (!parser->Parse(text, reply)) return false;
  for (llm::ToolCall& c : reply.calls) {
    if (c.id.empty()) c.id = NewCallId();
  }
  return true;
}

void AppendInt(std::string& out, long long v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

OpenAiFormat::OpenAiFormat(OpenAiResponseInfo info, std::shared_ptr<const manager::Request> request)
    : info_(std::move(info)), request_(std::move(request)) {}

std::string_view OpenAiFormat::content_type() const {
  return info_.stream ? "text/event-stream" : "application/json";
}

void OpenAiFormat::EnsureHead() {
  if (!head_.empty()) return;
  head_.reserve(160);
  head_.append("data: {\"id\":");
  AppendJsonString(head_, info_.id);
  head_.append(info_.kind == OpenAiKind::kChat ? ",\"object\":\"chat.completion.chunk\""
                                               : ",\"object\":\"text_completion\"");
  head_.append(",\"created\":");
  AppendInt(head_, info_.created);
  head_.append(",\"model\":");
  AppendJsonString(head_, request_->model);
  head_.append(",\"choices\":[");
}

void OpenAiFormat::AppendRoleChunk(std::string& out) {
  role_sent_ = true;
  out.append(head_).append(
      "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
      "\"logprobs\":null,\"finish_reason\":null}]}\n\n");
}

void OpenAiFormat::AppendChoiceChunk(std::string& out, std::string_view text,
                                     std::string_view finish) {
  out.append(head_).append("{\"index\":0,");
  if (info_.kind == OpenAiKind::kChat) {
    if (finish.empty()) {
      out.append("\"delta\":{\"content\":");
      AppendJsonString(out, text);
      out.push_back('}');
    } else {
      out.append("\"delta\":{}");
    }
  } else {
    out.append("\"text\":");
    AppendJsonString(out, text);
  }
  out.append(",\"logprobs\":null,\"finish_reason\":");
  if (finish.empty()) {
    out.append("null");
  } else {
    out.push_back('"');
    out.append(finish).push_back('"');
  }
  out.append("}]}\n\n");
}

void OpenAiFormat::AppendText(std::string& out, std::string_view text) {
  if (info_.tool_reply) {
    held_.append(text);  // sent whole at the end: a call is only known then
    return;
  }
  EnsureHead();
  if (info_.kind == OpenAiKind::kChat && !role_sent_) AppendRoleChunk(out);
  AppendChoiceChunk(out, text, {});
}

std::string_view OpenAiFormat::AppendToolReply(std::string& out, const manager::Outcome& outcome) {
  llm::ToolReply reply;
  if (!ParseReply(outcome, held_, reply)) {
    if (!held_.empty()) AppendChoiceChunk(out, held_, {});
    return FinishReasonName(outcome.stats.finish);
  }
  if (reply.calls.empty()) {
    if (!reply.content.empty()) AppendChoiceChunk(out, reply.content, {});
    return "stop";
  }
  if (!reply.content.empty()) AppendChoiceChunk(out, reply.content, {});
  for (size_t i = 0; i < reply.calls.size(); ++i) {
    const llm::ToolCall& c = reply.calls[i];
    out.append(head_).append("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":");
    AppendInt(out, static_cast<long long>(i));
    out.append(",\"id\":");
    AppendJsonString(out, c.id);
    out.append(",\"type\":\"function\",\"function\":{\"name\":");
    AppendJsonString(out, c.name);
    out.append(",\"arguments\":");
    AppendJsonString(out, c.arguments);
    out.append("}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
  }
  return "tool_calls";
}

void OpenAiFormat::AppendDone(std::string& out, const manager::Outcome& outcome) {
  EnsureHead();
  if (info_.kind == OpenAiKind::kChat && !role_sent_) AppendRoleChunk(out);
  const std::string_view finish =
      info_.tool_reply ? AppendToolReply(out, outcome) : FinishReasonName(outcome.stats.finish);
  AppendChoiceChunk(out, {}, finish);
  if (info_.include_usage) {
    // OpenAI's usage chunk: empty choices, totals for the whole request.
    const auto& s = outcome.stats;
    out.append(head_).append("],\"usage\":{\"prompt_tokens\":");
    AppendInt(out, s.prompt_tokens);
    out.append(",\"completion_tokens\":");
    AppendInt(out, s.completion_tokens);
    out.append(",\"total_tokens\":");
    AppendInt(out, static_cast<long long>(s.prompt_tokens) + s.completion_tokens);
    out.append(",\"prompt_tokens_details\":{\"cached_tokens\":");
    AppendInt(out, s.cached_tokens);
    out.append("}}}\n\n");
  }
  out.append("data: [DONE]\n\n");
}

void OpenAiFormat::AppendError(std::string& out, const Status& status) {
  out.append("data: ").append(OpenAiErrorBody(status)).append("\n\ndata: [DONE]\n\n");
}

std::string OpenAiFormat::CompleteBody(const manager::Outcome& outcome, std::string_view text) {
  nlohmann::json choice = {{"index", 0},
                           {"logprobs", nullptr},
                           {"finish_reason", FinishReasonName(outcome.stats.finish)}};
  const bool chat = info_.kind == OpenAiKind::kChat;
  llm::ToolReply reply;
  if (chat && info_.tool_reply && ParseReply(outcome, text, reply)) {
    if (reply.calls.empty()) {
      choice["message"] = {{"role", "assistant"}, {"content", reply.content}};
    } else {
      nlohmann::json calls = nlohmann::json::array();
      for (const llm::ToolCall& c : reply.calls) {
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      }
      // Text a template lets the model write before its calls stays.
      nlohmann::json content = nullptr;
      if (!reply.content.empty()) content = reply.content;
      choice["message"] = {{"role", "assistant"}, {"content", content}, {"tool_calls", calls}};
      choice["finish_reason"] = "tool_calls";
    }
  } else if (chat) {
    choice["message"] = {{"role", "assistant"}, {"content", std::string(text)}};
  } else {
    choice["text"] = std::string(text);
  }
  nlohmann::json j = {{"id", info_.id},
                      {"object", chat ? "chat.completion" : "text_completion"},
                      {"created", info_.created},
                      {"model", outcome.model},
                      {"choices", nlohmann::json::array({choice})},
                      {"usage", Usage(outcome.stats)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OpenAiFormat::ErrorBody(const Status& status) { return OpenAiErrorBody(status); }

}  // namespace modeld::httpapi
