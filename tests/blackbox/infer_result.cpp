// Runs /infer calls to their end and checks the stream protocol on the way:
// every event is JSON, token texts are valid UTF-8, exactly one terminal
// event (done or error) comes last.

#include "tests/blackbox/http_client.h"

namespace modeld::blackbox {
namespace {

Millis Remaining(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
  return std::max(left, Millis(1));
}

// The token text of an event in either format (ndjson puts it at top level too).
std::optional<std::string> TokenText(const Event& e) {
  if (!e.json_ok() || !e.data.is_object() || !e.data.contains("text") ||
      !e.data["text"].is_string()) {
    return std::nullopt;
  }
  return e.data["text"].get<std::string>();
}

void ReadNonStream(InferStream& s, InferResult& r, Millis timeout) {
  r.body = s.Body(timeout);
  if (!s.http().done()) {
    r.transport_error = "body did not complete: " + s.error();
    return;
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.problems.push_back("non-stream body is not a JSON object: " + r.body.substr(0, 200));
    return;
  }
  if (j.contains("error")) {
    r.error = j["error"];
    return;
  }
  if (r.status == 200) {
    r.done = j;
    if (j.contains("text") && j["text"].is_string()) r.text = j["text"].get<std::string>();
  }
}

}  // namespace

std::string InferResult::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string InferResult::ErrorCode() const {
  if (!error || !error->is_object() || !error->contains("code") || !(*error)["code"].is_string()) {
    return "";
  }
  return (*error)["code"].get<std::string>();
}

std::string InferResult::Describe() const {
  std::string s = "status=" + std::to_string(status);
  if (!transport_error.empty()) s += " transport_error=" + transport_error;
  s += " events=" + std::to_string(events.size());
  if (done) s += " done=" + done->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (error) s += " error=" + error->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!body.empty()) s += " body=" + body.substr(0, 300);
  for (const auto& p : problems) s += " problem=[" + p + "]";
  return s;
}

InferResult Finish(InferStream& s, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  InferResult r;
  if (!s.AwaitHeaders(timeout)) {
    r.transport_error = "no response headers: " + s.error();
    return r;
  }
  r.status = s.http().status();
  r.headers = s.http().headers();
  if (!s.IsStream()) {
    ReadNonStream(s, r, Remaining(deadline));
    return r;
  }
  bool terminal = false;
  while (auto e = s.Next(Remaining(deadline))) {
    if (terminal) r.problems.push_back("event after the terminal event: " + e->raw);
    if (!e->json_ok()) r.problems.push_back("event data is not JSON: " + e->raw);
    if (e->type == "token") {
      auto text = TokenText(*e);
      if (!text) {
        r.problems.push_back("token event without a string text: " + e->raw);
      } else {
        if (!IsValidUtf8(*text)) r.problems.push_back("token text is not valid UTF-8");
        r.text += *text;
      }
    } else if (e->type == "done") {
      terminal = true;
      r.done = e->data;
    } else if (e->type == "error") {
      terminal = true;
      if (e->json_ok() && e->data.contains("error")) {
        r.error = e->data["error"];
      } else {
        r.problems.push_back("error event without an error object: " + e->raw);
      }
    } else {
      r.problems.push_back("unknown event type '" + e->type + "': " + e->raw);
    }
    r.events.push_back(std::move(*e));
  }
  if (!s.http().done()) {
    r.transport_error =
        "stream did not end" + std::string(s.timed_out() ? " (timeout)" : "") + ": " + s.error();
  }
  if (!terminal) r.problems.push_back("stream ended without a done or error event");
  if (!s.parser().pending().empty()) {
    r.problems.push_back("trailing bytes after the last event: " + s.parser().pending());
  }
  for (const auto& m : s.parser().malformed()) r.problems.push_back("malformed SSE block: " + m);
  return r;
}

InferResult Infer(int port, const nlohmann::json& body, StreamFormat format, Millis timeout) {
  InferStream s(port, body, format, timeout);
  if (!s.http().connected()) {
    InferResult r;
    r.transport_error = s.error();
    return r;
  }
  return Finish(s, timeout);
}

}  // namespace modeld::blackbox
