// Fuzz target: a request's `grammar` (GBNF text) into CheckGbnfSyntax, the
// check that runs before llama.cpp's own parser. Input: the grammar bytes.
// Errors must be values that name the field, and the result must not depend
// on anything but the text.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "internal/llm/gbnf_syntax.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const modeld::Status a = modeld::llm::CheckGbnfSyntax(text, "grammar");
  const modeld::Status b = modeld::llm::CheckGbnfSyntax(text, "grammar");
  Check(a.ok() == b.ok() && a.message() == b.message(), "the check is deterministic");
  if (!a.ok()) {
    Check(a.code() == modeld::Code::kInvalidRequest, "a bad grammar is InvalidRequest");
    Check(a.message().rfind("grammar is invalid: ", 0) == 0, "the message names the field");
  } else {
    Check(text.find("root") != std::string_view::npos, "an accepted grammar defines root");
  }
  return 0;
}
