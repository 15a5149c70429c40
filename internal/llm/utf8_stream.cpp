#include "internal/llm/utf8_stream.h"

namespace modeld::llm {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// For a lead byte: the sequence length and the valid range of the second
// byte (RFC 3629 table; the narrowed ranges exclude overlongs, surrogates and
// code points above U+10FFFF). Length 0 means the byte never starts a sequence.
struct Lead {
  int len;
  uint8_t lo;
  uint8_t hi;
};

constexpr Lead ClassifyLead(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  return {0, 0, 0};  // 80..BF, C0, C1, F5..FF
}

}  // namespace

void Utf8Stream::Start(uint8_t b, std::string& out) {
  if (b < 0x80) {
    out.push_back(static_cast<char>(b));
    return;
  }
  const Lead lead = ClassifyLead(b);
  if (lead.len == 0) {
    out.append(kReplacement);
    return;
  }
  held_[0] = static_cast<char>(b);
  held_len_ = 1;
  need_len_ = lead.len;
  next_lo_ = lead.lo;
  next_hi_ = lead.hi;
}

void Utf8Stream::Push(std::string_view in, std::string& out) {
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    if (held_len_ == 0) {
      // Fast path: copy a run of ASCII in one append.
      size_t j = i;
      while (j < n && static_cast<uint8_t>(in[j]) < 0x80) ++j;
      if (j > i) {
        out.append(in.data() + i, j - i);
        i = j;
        continue;
      }
      Start(static_cast<uint8_t>(in[i]), out);
      ++i;
      continue;
    }
    const auto b = static_cast<uint8_t>(in[i]);
    if (b < next_lo_ || b > next_hi_) {
      // The held prefix is a maximal ill-formed subpart; `b` starts afresh.
      out.append(kReplacement);
      held_len_ = 0;
      continue;  // reprocess b without advancing
    }
    held_[held_len_++] = static_cast<char>(b);
    next_lo_ = 0x80;
    next_hi_ = 0xBF;
    if (held_len_ == need_len_) {
      out.append(held_, static_cast<size_t>(held_len_));
      held_len_ = 0;
    }
    ++i;
  }
}

void Utf8Stream::Flush(std::string& out) {
  if (held_len_ > 0) out.append(kReplacement);
  held_len_ = 0;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    const Lead lead = ClassifyLead(b);
    if (lead.len == 0 || i + static_cast<size_t>(lead.len) > s.size()) return false;
    const auto b1 = static_cast<uint8_t>(s[i + 1]);
    if (b1 < lead.lo || b1 > lead.hi) return false;
    for (int k = 2; k < lead.len; ++k) {
      const auto bk = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
      if (bk < 0x80 || bk > 0xBF) return false;
    }
    i += static_cast<size_t>(lead.len);
  }
  return true;
}

}  // namespace modeld::llm
