// Fuzz target: Utf8Stream and IsValidUtf8. The first byte picks how the rest
// is cut into pieces. Properties: the output is valid UTF-8, does not depend
// on the cut, and equals the input when the input was valid already.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "internal/llm/utf8_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  using modeld::llm::IsValidUtf8;
  using modeld::llm::Utf8Stream;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::string whole;
  Utf8Stream one;
  one.Push(text, whole);
  one.Flush(whole);

  std::string pieces;
  Utf8Stream chunked;
  for (std::string_view piece : modeld::fuzz::Chunks(text, data[0])) {
    chunked.Push(piece, pieces);
    Check(chunked.held() >= 0 && chunked.held() <= 3, "holds back at most 3 bytes");
    Check(IsValidUtf8(pieces), "released text is valid UTF-8 after every push");
  }
  chunked.Flush(pieces);
  Check(chunked.held() == 0, "flush releases everything");

  Check(IsValidUtf8(whole), "output is valid UTF-8");
  Check(pieces == whole, "output does not depend on how the input is cut");
  if (IsValidUtf8(text)) Check(whole == text, "valid input passes through unchanged");
  return 0;
}
