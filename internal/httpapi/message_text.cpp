#include "internal/httpapi/message_text.h"

namespace modeld::httpapi {

std::string QuoteForMessage(std::string_view value) {
  std::string out;
  out.reserve(kMaxEchoBytes + 32);
  out.push_back('\'');
  if (value.size() <= kMaxEchoBytes) {
    out.append(value);
    out.push_back('\'');
    return out;
  }
  size_t cut = kMaxEchoBytes;
  // Back up over UTF-8 continuation bytes (10xxxxxx) to a character start.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  out.append(value.substr(0, cut));
  out.append("...' (");
  out.append(std::to_string(value.size()));
  out.append(" bytes)");
  return out;
}

}  // namespace modeld::httpapi
