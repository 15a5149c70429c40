// Fuzz target: chat templating through FormatChat and llama.cpp's
// llama_chat_apply_template (linked uninstrumented). Input layout: sections
// split at NUL bytes; the first is the template (a built-in name such as
// "chatml" or template text llama.cpp detects by its markers), each further
// one a message: its first byte picks the role, the rest is the content.
// Roles are those modeld's parsers let through.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "internal/llm/llama_prompt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  static constexpr const char* kRoles[] = {"system", "user", "assistant"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t end = in.find('\0');
  const std::string tmpl(in.substr(0, end));
  // FormatChat reads the model's own template only when there is no override.
  if (tmpl.empty()) return 0;
  std::vector<modeld::llm::ChatMessage> messages;
  in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);
  while (!in.empty() && messages.size() < 64) {
    const size_t next = in.find('\0');
    const std::string_view section = in.substr(0, next);
    in.remove_prefix(next == std::string_view::npos ? in.size() : next + 1);
    if (section.empty()) continue;
    messages.push_back(
        {kRoles[static_cast<uint8_t>(section[0]) % 3], std::string(section.substr(1))});
  }
  // modeld's parsers never produce a chat without messages.
  if (messages.empty()) return 0;
  std::string out;
  const auto status = modeld::llm::FormatChat(nullptr, tmpl, messages, "fuzz", out);
  Check(status.ok() || !status.message().empty(), "an error names its cause");
  Check(out.find('\0') == std::string::npos || !status.ok(), "no NUL bytes in a prompt");
  return 0;
}
