#pragma once

#include <llama.h>

#include <string>
#include <utility>
#include <vector>

#include "internal/llm/adapter.h"
#include "internal/llm/chat_template.h"
#include "internal/llm/tool_template.h"
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
// A chat request with active tools is rendered with the tools through the
// model's Jinja template by llama.cpp's common library (tool_template.h),
// which also gives the grammar of a call and the parser of the reply. A
// template without tool markup that common can use (and tool text that
// holds control-token text) falls back to modeld's generic JSON format
// (tool_generic.h), rendered like any chat.
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

  // True when the model's template can carry tools natively (a request
  // with tools may still fall back, e.g. for its tool text).
  bool native_tools() const { return native_tools_ != nullptr; }

  // The path Build takes for content that holds control-token text.
  Status BuildSegmentedForTest(const std::vector<ChatMessage>& messages,
                               std::vector<llama_token>& out) const {
    return BuildSegmented(messages, out);
  }

 private:
  Status BuildTokens(const GenerateParams& params, std::vector<llama_token>& out) const;
  // The request's json_schema or grammar as checked GBNF in `out` (left
  // alone when it has neither); 400 naming the field when it is invalid.
  Status RequestGrammar(const GenerateParams& params, std::string& out) const;
  // The grammar of params' json_schema or grammar (checked), and its tokens.
  Status PrepareFree(const GenerateParams& params, PreparedPrompt& out) const;
  // A chat with tools or tool history: native when it can, else generic.
  Status PrepareTools(const GenerateParams& params, PreparedPrompt& out) const;
  // Through common with the template's tool markup; false (with `why`) when
  // the request has to fall back to the generic format.
  Result<bool> PrepareNative(const GenerateParams& params, PreparedPrompt& out,
                             std::string& why) const;
  // True when text the request gives for its tools (descriptions, schemas,
  // earlier calls) holds the text of a control token.
  bool ToolTextHasSpecial(const GenerateParams& params) const;
  bool HasSpecialText(const std::string& text) const;
  // The chat template's text for `messages`: Jinja templates through
  // common's engine, built-in names through llama_chat_apply_template.
  Status Render(const std::vector<ChatMessage>& messages, std::string& out) const;
  // True when some message content holds the text of a control token.
  bool ContentHasSpecialText(const std::vector<ChatMessage>& messages) const;
  // Renders the template with placeholder content and tokenizes template
  // text with control tokens, content as plain text.
  Status BuildSegmented(const std::vector<ChatMessage>& messages,
                        std::vector<llama_token>& out) const;
  // Tokenizes `rendered`, a rendering of Masked(messages): its template text
  // with control tokens, each placeholder replaced by the content as plain
  // text. `placed` is false when the template dropped or rewrote a
  // placeholder (then `out` is not usable).
  Status TokenizeMasked(std::string_view rendered, const std::vector<ChatMessage>& messages,
                        bool& placed, std::vector<llama_token>& out) const;
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
  // The same template parsed by common for tool requests; null when the
  // template is not Jinja or common cannot parse it (native_tools_error_).
  std::unique_ptr<NativeTools> native_tools_;
  std::string native_tools_error_;
};

}  // namespace modeld::llm
