#pragma once

#include <llama.h>

#include <string>
#include <utility>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/chat_template.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// Turns a request's prompt or chat messages into tokens, and checks the
// result against a context size. Shared by a loaded model and by the check
// that runs before a switch (on a vocabulary-only model).
//
// Chat templates are rendered by llama.cpp's Jinja engine (common), as
// llama-server renders them; a built-in template name as an override
// ("chatml") goes through llama_chat_apply_template.
//
// Only the chat template's own text may become control tokens. Message
// content is plain text: "</s>" or "<|im_end|>" typed by a user stays text,
// so it can neither forge the template's markers nor trigger llama.cpp's
// special-token partitioning, whose cost grows superlinearly with the
// number of matches. `special_in_content` (a registry opt-in) restores
// parsing them in content.
//
// Thread-safety: immutable after construction; Build and Prepare may run on
// any thread (the model must outlive this object).
class PromptBuilder {
 public:
  PromptBuilder(const llama_model* model, std::string template_override, bool special_in_content,
                std::string model_id);

  // The prompt's tokens: `params.prompt` as plain text, or `params.messages`
  // through the chat template.
  Status Build(const GenerateParams& params, std::vector<llama_token>& out) const;

  // Validates the request (max_tokens, stop strings), builds its tokens and
  // checks that they leave room for one generated token in `n_ctx` cells.
  Result<PreparedPrompt> Prepare(const GenerateParams& params, int n_ctx) const;

  // The path Build takes for content that holds control-token text.
  Status BuildSegmentedForTest(const std::vector<ChatMessage>& messages,
                               std::vector<llama_token>& out) const {
    return BuildSegmented(messages, out);
  }

 private:
  Status BuildTokens(const GenerateParams& params, std::vector<llama_token>& out) const;
  // The chat template's text for `messages`: Jinja templates through
  // common's engine, built-in names through llama_chat_apply_template.
  Status Render(const std::vector<ChatMessage>& messages, std::string& out) const;
  // True when some message content holds the text of a control token.
  bool ContentHasSpecialText(const std::vector<ChatMessage>& messages) const;
  // Renders the template with placeholder content and tokenizes template
  // text with control tokens, content as plain text.
  Status BuildSegmented(const std::vector<ChatMessage>& messages,
                        std::vector<llama_token>& out) const;
  // Appends `text`, splitting it at control-token text (longest first).
  void SplitTemplateText(std::string_view text, std::vector<std::string>& raw,
                         std::vector<llama_token>& special) const;

  // Constant after construction.
  const llama_model* model_;
  const llama_vocab* vocab_;
  const std::string template_override_;
  const bool special_in_content_;
  const std::string model_id_;
  // Control and user-defined tokens' text, longest first (as llama.cpp
  // matches them).
  std::vector<std::pair<std::string, llama_token>> specials_;
  // The parsed Jinja template; null for a built-in name, no template, or
  // one that failed to parse (jinja_error_ then says why).
  std::unique_ptr<JinjaTemplate> jinja_;
  Status jinja_error_;
};

}  // namespace modeld::llm
