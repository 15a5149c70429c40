#pragma once

// Turns a request's prompt or chat messages into tokens.

#include <llama.h>

#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// Formats `messages` with `template_override` when non-empty, else with the
// model's GGUF template, ending with the assistant's turn. Template names
// llama.cpp knows ("chatml", "llama3", ...) work as overrides too. A missing
// template, or one llama_chat_apply_template does not support, is a
// TemplateError naming `model_id`.
Status FormatChat(const llama_model* model, const std::string& template_override,
                  const std::vector<ChatMessage>& messages, std::string_view model_id,
                  std::string& out);

// Tokenizes `text` into `out` (replacing its contents). With `add_special`,
// adds BOS (and EOS) when the vocabulary asks for them. `parse_special`
// turns control-token text such as "<|im_start|>" into those tokens (for a
// chat template's own text only). `out` may end up empty.
Status TokenizeText(const llama_vocab* vocab, std::string_view text, bool add_special,
                    bool parse_special, std::vector<llama_token>& out);

}  // namespace modeld::llm
