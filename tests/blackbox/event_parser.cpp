#include "tests/blackbox/event_parser.h"

namespace modeld::blackbox {
namespace {

std::string_view StripCr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "field: value" → value, with the one optional space after the colon removed.
std::string_view FieldValue(std::string_view line, std::string_view field) {
  std::string_view v = line.substr(field.size() + 1);
  if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return v;
}

Event MakeEvent(std::string type, std::string raw) {
  Event e;
  e.type = std::move(type);
  e.raw = std::move(raw);
  e.data = nlohmann::json::parse(e.raw, nullptr, /*allow_exceptions=*/false);
  return e;
}

}  // namespace

std::vector<Event> EventParser::Feed(std::string_view bytes) {
  buf_.append(bytes);
  std::vector<Event> out;
  if (format_ == StreamFormat::kNdjson) {
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line(StripCr(std::string_view(buf_).substr(start, nl - start)));
      if (line.empty()) continue;
      Event e = MakeEvent("", line);
      if (e.json_ok() && e.data.is_object() && e.data.contains("type") &&
          e.data["type"].is_string()) {
        e.type = e.data["type"].get<std::string>();
      }
      out.push_back(std::move(e));
    }
    buf_.erase(0, start);
    return out;
  }
  // SSE: events are separated by a blank line.
  while (true) {
    size_t end = buf_.find("\n\n");
    size_t sep = 2;
    size_t crlf = buf_.find("\r\n\r\n");
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      sep = 4;
    }
    if (end == std::string::npos) break;
    std::string block = buf_.substr(0, end);
    buf_.erase(0, end + sep);
    if (auto e = ParseSseBlock(block)) out.push_back(std::move(*e));
  }
  return out;
}

std::optional<Event> EventParser::ParseSseBlock(std::string_view block) {
  std::string type;
  std::string data;
  bool has_data = false;
  bool only_comments = true;
  size_t start = 0;
  while (start <= block.size()) {
    size_t nl = block.find('\n', start);
    if (nl == std::string_view::npos) nl = block.size();
    std::string_view line = StripCr(block.substr(start, nl - start));
    start = nl + 1;
    if (line.empty() || line.front() == ':') continue;  // keep-alive comment
    only_comments = false;
    if (line.rfind("event:", 0) == 0) {
      type = std::string(FieldValue(line, "event"));
    } else if (line.rfind("data:", 0) == 0) {
      if (has_data) data += '\n';
      data += FieldValue(line, "data");
      has_data = true;
    } else if (line.rfind("id:", 0) != 0 && line.rfind("retry:", 0) != 0) {
      malformed_.emplace_back(block);
      return std::nullopt;
    }
  }
  if (only_comments) return std::nullopt;
  if (!has_data) {
    malformed_.emplace_back(block);
    return std::nullopt;
  }
  return MakeEvent(type.empty() ? "message" : type, data);
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong 2-byte lead or > U+10FFFF lead
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace modeld::blackbox
