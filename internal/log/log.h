#pragma once

// modeld's structured logger: one JSON object per line on stderr, e.g.
//   {"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"request","method":"POST","status":200}
// All functions are safe to call from any thread; each line reaches the output
// with one write, so lines from different threads never interleave.

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pkg/types/status.h"

namespace modeld::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn" or "error".
std::string_view LevelName(Level level);

// Accepts debug, info, warn (or warning) and error, case-insensitively.
// Unknown names leave the level unchanged and return InvalidRequest.
Status SetLevel(std::string_view name);
void SetLevel(Level level);
Level GetLevel();

// True when a line at `level` would be written; lets callers skip building
// expensive fields.
bool Enabled(Level level);

// Writes one line if `level` is enabled. `fields` should be a JSON object
// whose members are appended after ts/level/msg, in their (sorted) order; a
// member that reuses one of those three names gets a leading '_' so the line
// never holds duplicate keys. A non-object `fields` is logged under "fields".
// Invalid UTF-8 in msg, keys or values is replaced with U+FFFD, never thrown.
void Write(Level level, std::string_view msg, const nlohmann::json& fields = nullptr);

inline void Debug(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kDebug, msg, fields);
}
inline void Info(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kError, msg, fields);
}

// Builds the line Write would emit (with the trailing '\n'), without writing it.
std::string FormatLine(Level level, std::string_view msg, const nlohmann::json& fields,
                       std::chrono::system_clock::time_point when);

// RFC 3339 in UTC with milliseconds: 2025-01-02T03:04:05.678Z.
std::string FormatTimestamp(std::chrono::system_clock::time_point when);

// Sends lines to `*sink` (appended) instead of stderr; nullptr restores
// stderr. The caller keeps `sink` alive until it is reset, and reads it only
// when no thread is logging.
void SetSinkForTest(std::string* sink);

}  // namespace modeld::log
