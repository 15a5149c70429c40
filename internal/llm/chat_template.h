#pragma once

// Chat templates rendered by llama.cpp's Jinja engine (its common library),
// so real models' templates work as they do in llama-server.

#include <llama.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

struct common_chat_template;

namespace modeld::llm {

// One parsed Jinja template with the model's BOS/EOS text.
// Thread-safety: immutable after Create; Render may run on any thread.
class JinjaTemplate {
 public:
  ~JinjaTemplate();

  // True when `source` is Jinja rather than a built-in template name
  // ("chatml", "llama3": those go through llama_chat_apply_template).
  static bool IsJinja(std::string_view source);

  // Parses `source`; a syntax error is a TemplateError naming `model_id`.
  static Result<std::unique_ptr<JinjaTemplate>> Create(const llama_model* model,
                                                       const std::string& source,
                                                       std::string_view model_id);

  // Renders `messages` ending with the assistant's turn (the generation
  // prompt). BOS/EOS text the vocabulary adds itself is left out. A
  // template that raises or fails is a TemplateError naming the model.
  Status Render(const std::vector<ChatMessage>& messages, std::string& out) const;

 private:
  JinjaTemplate() = default;

  // Constant after construction.
  std::unique_ptr<common_chat_template> tmpl_;
  std::string model_id_;
  bool add_bos_ = false;
  bool add_eos_ = false;
  bool system_role_ = true;  // the template accepts system messages
};

// Sends llama.cpp's common library's own log nowhere: it writes plain text
// to stderr (modeld's lines are JSON), and the errors that matter to modeld
// come back as exceptions. Process-wide; idempotent.
void QuietCommonLog();

}  // namespace modeld::llm
