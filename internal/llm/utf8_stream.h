#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace modeld::llm {

// Turns a byte stream that arrives in arbitrary pieces (token pieces from the
// tokenizer) into valid UTF-8. Complete, well-formed code points pass through;
// an incomplete multi-byte tail (at most 3 bytes) is held back until the next
// Push completes it; bytes that can never be well-formed become U+FFFD, one per
// maximal ill-formed subpart (the Unicode "substitution of maximal subparts"
// practice). Appends into the caller's string, so with reserved capacity the
// steady state allocates nothing.
// Thread-safety: not thread-safe; one owner at a time.
class Utf8Stream {
 public:
  // Appends the valid UTF-8 that `in` completes to `out`.
  void Push(std::string_view in, std::string& out);
  // Ends the stream: a held-back incomplete sequence becomes U+FFFD.
  void Flush(std::string& out);
  // Forgets any held-back bytes.
  void Reset() { held_len_ = 0; }
  // Bytes held back, waiting for their continuation (0..3).
  int held() const { return held_len_; }

 private:
  // Starts a sequence at lead byte `b`, or emits it when it is ASCII or can
  // never start a well-formed sequence.
  void Start(uint8_t b, std::string& out);

  char held_[4] = {};
  int held_len_ = 0;        // bytes in held_
  int need_len_ = 0;        // total length of the sequence held_ starts
  uint8_t next_lo_ = 0x80;  // valid range for the next continuation byte
  uint8_t next_hi_ = 0xBF;
};

// True when `s` is entirely well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

}  // namespace modeld::llm
