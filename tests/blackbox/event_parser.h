#pragma once

// Incremental parsers for modeld's two streaming formats (SSE and ndjson),
// plus a strict UTF-8 check. Pure functions of their input, so the harness
// can test them without a server.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace modeld::blackbox {

// One streamed event: "token", "done" or "error" (ndjson: its "type" field).
struct Event {
  std::string type;
  std::string raw;      // the data line(s) exactly as received
  nlohmann::json data;  // discarded (is_discarded()) when raw is not JSON
  bool json_ok() const { return !data.is_discarded(); }
};

enum class StreamFormat { kSse, kNdjson };

// Feeds raw body bytes in, gets complete events out. Not thread-safe.
class EventParser {
 public:
  explicit EventParser(StreamFormat format) : format_(format) {}

  // Appends `bytes` and returns every event completed by them.
  std::vector<Event> Feed(std::string_view bytes);
  // Bytes received but not yet part of a complete event.
  const std::string& pending() const { return buf_; }
  // SSE blocks that were neither comments nor well-formed events.
  const std::vector<std::string>& malformed() const { return malformed_; }

 private:
  std::optional<Event> ParseSseBlock(std::string_view block);

  StreamFormat format_;
  std::string buf_;
  std::vector<std::string> malformed_;
};

// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace modeld::blackbox
