#include "internal/log/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include "internal/sync/mutex.h"

namespace modeld::log {
namespace {

using nlohmann::json;

std::atomic<Level> g_level{Level::kInfo};

// Serialises writes so that each line goes out whole.
sync::Mutex g_mu;
std::string* g_sink GUARDED_BY(g_mu) = nullptr;  // nullptr: stderr

// Invalid UTF-8 becomes U+FFFD instead of throwing type_error 316.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Writes all of `line` to stderr with as few write(2) calls as the kernel
// allows (one for any line that fits a pipe buffer). Gives up on a hard error:
// there is nowhere left to report it.
void WriteStderr(const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

Status SetLevel(std::string_view name) {
  std::string lower;
  for (char c : name) {
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  Level level;
  if (lower == "debug") {
    level = Level::kDebug;
  } else if (lower == "info") {
    level = Level::kInfo;
  } else if (lower == "warn" || lower == "warning") {
    level = Level::kWarn;
  } else if (lower == "error") {
    level = Level::kError;
  } else {
    return Status::InvalidRequest("unknown log level " + Dump(json(std::string(name))) +
                                  " (use debug, info, warn or error)");
  }
  SetLevel(level);
  return Status::Ok();
}

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

Level GetLevel() { return g_level.load(std::memory_order_relaxed); }

bool Enabled(Level level) { return level >= GetLevel(); }

std::string FormatTimestamp(std::chrono::system_clock::time_point when) {
  using namespace std::chrono;
  const auto ms_total = duration_cast<milliseconds>(when.time_since_epoch()).count();
  // Floor division so instants before 1970 still get 0..999 ms.
  auto secs = ms_total / 1000;
  auto ms = ms_total % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];  // ample for any int fields, which keeps -Wformat-truncation quiet
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string FormatLine(Level level, std::string_view msg, const json& fields,
                       std::chrono::system_clock::time_point when) {
  // Built by hand rather than as one json object so that ts, level and msg
  // come first, which keeps the lines readable with plain `tail -f`.
  std::string line = "{\"ts\":\"" + FormatTimestamp(when) + "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  line += Dump(json(std::string(msg)));
  auto append = [&line](const std::string& key, const json& value) {
    const bool reserved = key == "ts" || key == "level" || key == "msg";
    line += ',';
    line += Dump(json(reserved ? "_" + key : key));
    line += ':';
    line += Dump(value);
  };
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      append(key, value);
    }
  } else if (!fields.is_null()) {
    append("fields", fields);
  }
  line += "}\n";
  return line;
}

void Write(Level level, std::string_view msg, const json& fields) {
  if (!Enabled(level)) {
    return;
  }
  try {
    const std::string line = FormatLine(level, msg, fields, std::chrono::system_clock::now());
    sync::MutexLock lock(g_mu);
    if (g_sink != nullptr) {
      g_sink->append(line);
    } else {
      WriteStderr(line);
    }
  } catch (const std::exception&) {
    // Out of memory while logging: dropping the line beats taking the
    // process down from a log call.
  }
}

void SetSinkForTest(std::string* sink) {
  sync::MutexLock lock(g_mu);
  g_sink = sink;
}

}  // namespace modeld::log
