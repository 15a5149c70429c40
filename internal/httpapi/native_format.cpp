#include "internal/httpapi/native_format.h"

#include <nlohmann/json.hpp>

#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/json_text.h"

namespace modeld::httpapi {
namespace {

nlohmann::json UsageAndTimings(const manager::Outcome& o) {
  return {{"model", o.model},
          {"finish_reason", FinishReasonName(o.stats.finish)},
          {"usage",
           {{"prompt_tokens", o.stats.prompt_tokens},
            {"completion_tokens", o.stats.completion_tokens}}},
          {"timings",
           {{"queue_ms", o.timings.queue_ms},
            {"switch_ms", o.timings.switch_ms},
            {"prompt_ms", o.timings.prompt_ms},
            {"cached_tokens", o.stats.cached_tokens},
            {"generation_ms", o.timings.generation_ms},
            {"tokens_per_second", o.timings.tokens_per_second}}}};
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string_view NativeFormat::content_type() const {
  return kind_ == Kind::kSse ? "text/event-stream" : "application/x-ndjson";
}

void NativeFormat::AppendEvent(std::string& out, std::string_view type, std::string_view json) {
  if (kind_ == Kind::kSse) {
    out.append("event: ").append(type).append("\ndata: ").append(json).append("\n\n");
    return;
  }
  // {"type":"done", + the object without its opening brace.
  out.append("{\"type\":\"").append(type).append("\",").append(json.substr(1)).push_back('\n');
}

void NativeFormat::AppendText(std::string& out, std::string_view text) {
  if (kind_ == Kind::kSse) {
    out.append("event: token\ndata: {\"text\":");
    AppendJsonString(out, text);
    out.append("}\n\n");
  } else {
    out.append("{\"type\":\"token\",\"text\":");
    AppendJsonString(out, text);
    out.append("}\n");
  }
}

void NativeFormat::AppendDone(std::string& out, const manager::Outcome& outcome) {
  AppendEvent(out, "done", Dump(UsageAndTimings(outcome)));
}

void NativeFormat::AppendError(std::string& out, const Status& status) {
  AppendEvent(out, "error", NativeErrorBody(status));
}

std::string NativeFormat::CompleteBody(const manager::Outcome& outcome, std::string_view text) {
  nlohmann::json j = UsageAndTimings(outcome);
  j["text"] = std::string(text);
  return Dump(j);
}

std::string NativeFormat::ErrorBody(const Status& status) { return NativeErrorBody(status); }

}  // namespace modeld::httpapi
