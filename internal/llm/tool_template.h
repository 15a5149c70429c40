#pragma once

// Tool calling through the model's own chat template, with llama.cpp's
// common library: common_chat_templates_apply renders the tools and the
// tool history the way the template describes them, and its per-template
// parser (common_chat_parse) reads the calls back out of the reply.

#include <llama.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

struct common_chat_templates;

namespace modeld::llm {

// A chat request with tools or tool history, rendered by the template.
struct NativeToolPrompt {
  std::string prompt;  // the whole rendering, ending with the generation prompt
  std::string grammar;
  bool grammar_lazy = false;
  std::vector<std::string> trigger_patterns;  // regular expressions
  std::vector<llama_token> trigger_tokens;
  std::vector<llama_token> preserved_tokens;
  std::vector<std::string> stops;
  ToolReplyParserPtr parser;
};

// One model's Jinja template, parsed by common for tool requests.
// Thread-safety: immutable after Create; Apply may run on any thread.
class NativeTools {
 public:
  ~NativeTools();

  // Parses the template `override_source` (empty: the GGUF's, with its
  // tool_use variant). Null, with `why` set, when common cannot parse it.
  static std::unique_ptr<NativeTools> Create(const llama_model* model,
                                             const std::string& override_source, std::string& why);

  // Renders `messages` with `tools`. Active tools also get common's call
  // grammar, triggers and parser. Inactive ones (tool_choice `none`, or only
  // calls in the history) are rendered as the template shows them, and the
  // reply is free text: no grammar, no parser. Empty, with `why` set, when
  // the template has no tool markup common can render (or, for active
  // tools, constrain and parse); the caller then uses the generic format
  // (tool_generic.h).
  std::optional<NativeToolPrompt> Apply(const std::vector<ChatMessage>& messages,
                                        const ToolRequest& tools, std::string& why) const;

 private:
  NativeTools() = default;

  // Constant after construction.
  const llama_vocab* vocab_ = nullptr;
  std::unique_ptr<common_chat_templates, void (*)(common_chat_templates*)> tmpls_{nullptr, nullptr};
  bool supports_tools_ = false;  // the template writes the tools into the prompt
};

}  // namespace modeld::llm
