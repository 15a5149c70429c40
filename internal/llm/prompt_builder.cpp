#include "internal/llm/prompt_builder.h"

#include <algorithm>
#include <string_view>

#include "internal/llm/llama_prompt.h"
#include "internal/llm/output_grammar.h"
#include "internal/llm/tool_generic.h"
#include "internal/llm/utf8_stream.h"
#include "internal/log/log.h"

namespace modeld::llm {
namespace {

// Stands in for message i's content while the template is rendered; the
// unit separators keep it from occurring in a template or merging with it.
std::string Placeholder(size_t i) { return "\x1fmodeld-content-" + std::to_string(i) + "\x1f"; }

// `messages` with each non-empty content replaced by its placeholder.
std::vector<ChatMessage> Masked(const std::vector<ChatMessage>& messages) {
  std::vector<ChatMessage> masked = messages;
  for (size_t i = 0; i < masked.size(); ++i) {
    if (!masked[i].content.empty()) masked[i].content = Placeholder(i);
  }
  return masked;
}

bool HasToolCalls(const std::vector<ChatMessage>& messages) {
  for (const ChatMessage& m : messages) {
    if (!m.tool_calls.empty()) return true;
  }
  return false;
}

// Tokenizes `raw` as plain text (no BOS), appending to `out`. Each call
// starts as llama.cpp starts a fragment after a control token.
Status AppendPlain(const llama_vocab* vocab, const std::string& raw,
                   std::vector<llama_token>& out) {
  if (raw.empty()) return Status::Ok();
  std::vector<llama_token> part;
  if (Status st = TokenizeText(vocab, raw, /*add_special=*/false, /*parse_special=*/false, part);
      !st.ok()) {
    return st;
  }
  out.insert(out.end(), part.begin(), part.end());
  return Status::Ok();
}

}  // namespace

PromptBuilder::PromptBuilder(const llama_model* model, std::string template_override,
                             bool special_in_content, std::string model_id)
    : model_(model),
      vocab_(llama_model_get_vocab(model)),
      template_override_(std::move(template_override)),
      special_in_content_(special_in_content),
      model_id_(std::move(model_id)) {
  // The tokens parse_special governs in llama.cpp: control and unknown.
  // (User-defined tokens are matched in plain text too.)
  const int n = llama_vocab_n_tokens(vocab_);
  for (llama_token t = 0; t < n; ++t) {
    const auto attr = llama_vocab_get_attr(vocab_, t);
    if ((attr & (LLAMA_TOKEN_ATTR_CONTROL | LLAMA_TOKEN_ATTR_UNKNOWN)) == 0) continue;
    const char* text = llama_vocab_get_text(vocab_, t);
    if (text != nullptr && *text != '\0') specials_.emplace_back(text, t);
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  const char* gguf =
      template_override_.empty() ? llama_model_chat_template(model, nullptr) : nullptr;
  const std::string source =
      template_override_.empty() ? (gguf == nullptr ? "" : gguf) : template_override_;
  if (JinjaTemplate::IsJinja(source)) {
    Result<std::unique_ptr<JinjaTemplate>> t = JinjaTemplate::Create(model, source, model_id_);
    if (t.ok()) {
      jinja_ = std::move(t).value();
      // Empty override: common reads the GGUF's templates (and its tool_use variant).
      native_tools_ = NativeTools::Create(model, template_override_, native_tools_error_);
    } else {
      jinja_error_ = t.status();
    }
  } else {
    native_tools_error_ = "the chat template is not Jinja";
  }
}

Status PromptBuilder::Render(const std::vector<ChatMessage>& messages, std::string& out) const {
  if (jinja_ != nullptr) return jinja_->Render(messages, out);
  if (!jinja_error_.ok()) return jinja_error_;
  return FormatChat(model_, template_override_, messages, model_id_, out);
}

Status PromptBuilder::Build(const GenerateParams& params, std::vector<llama_token>& out) const {
  Status st = BuildTokens(params, out);
  if (st.ok() && out.empty()) return Status::InvalidRequest("prompt is empty");
  return st;
}

Status PromptBuilder::BuildTokens(const GenerateParams& params,
                                  std::vector<llama_token>& out) const {
  if (!params.messages.has_value()) {
    return TokenizeText(vocab_, params.prompt, /*add_special=*/true, /*parse_special=*/false, out);
  }
  const std::vector<ChatMessage>& messages = *params.messages;
  if (messages.empty()) return Status::InvalidRequest("messages must not be empty");
  if (!special_in_content_ && ContentHasSpecialText(messages)) {
    return BuildSegmented(messages, out);
  }
  // No control-token text in the content: parsing the whole rendering gives
  // the same tokens as the segmented path, exactly as llama.cpp would.
  std::string formatted;
  if (Status st = Render(messages, formatted); !st.ok()) return st;
  return TokenizeText(vocab_, formatted, /*add_special=*/true, /*parse_special=*/true, out);
}

bool PromptBuilder::ContentHasSpecialText(const std::vector<ChatMessage>& messages) const {
  for (const ChatMessage& m : messages) {
    for (const auto& [text, token] : specials_) {
      if (m.content.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

void PromptBuilder::SplitTemplateText(std::string_view text, std::vector<std::string>& raw,
                                      std::vector<llama_token>& special) const {
  // raw[i] precedes special[i]; raw has one more entry than special.
  while (!text.empty()) {
    size_t best_pos = std::string_view::npos;
    const std::pair<std::string, llama_token>* best = nullptr;
    for (const auto& s : specials_) {  // longest first: ties go to the longer token
      const size_t pos = text.find(s.first);
      if (pos < best_pos) {
        best_pos = pos;
        best = &s;
      }
    }
    if (best == nullptr) break;
    raw.back().append(text.substr(0, best_pos));
    special.push_back(best->second);
    raw.emplace_back();
    text.remove_prefix(best_pos + best->first.size());
  }
  raw.back().append(text);
}

Status PromptBuilder::BuildSegmented(const std::vector<ChatMessage>& messages,
                                     std::vector<llama_token>& out) const {
  std::string rendered;
  if (Status st = Render(Masked(messages), rendered); !st.ok()) return st;
  bool placed = false;
  if (Status st = TokenizeMasked(rendered, messages, placed, out); !st.ok() || placed) return st;
  // The template dropped or rewrote the content; it cannot be placed
  // safely, so the whole rendering is plain text.
  std::string formatted;
  if (Status st = Render(messages, formatted); !st.ok()) return st;
  return TokenizeText(vocab_, formatted, /*add_special=*/true, /*parse_special=*/false, out);
}

Status PromptBuilder::TokenizeMasked(std::string_view rendered,
                                     const std::vector<ChatMessage>& messages, bool& placed,
                                     std::vector<llama_token>& out) const {
  // Template text split at its control tokens; content joins the plain
  // text around it, as it would in one rendering.
  placed = false;
  std::vector<std::string> raw(1);
  std::vector<llama_token> special;
  std::string_view rest = rendered;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].content.empty()) continue;  // not masked
    const std::string mark = Placeholder(i);
    const size_t pos = rest.find(mark);
    if (pos == std::string_view::npos) return Status::Ok();
    SplitTemplateText(rest.substr(0, pos), raw, special);
    raw.back().append(messages[i].content);
    rest.remove_prefix(pos + mark.size());
  }
  SplitTemplateText(rest, raw, special);

  // BOS and EOS as TokenizeText's add_special adds them.
  const bool add_bos = llama_vocab_get_add_bos(vocab_);
  out.clear();
  if (add_bos) out.push_back(llama_vocab_bos(vocab_));
  for (size_t i = 0; i < raw.size(); ++i) {
    if (Status st = AppendPlain(vocab_, raw[i], out); !st.ok()) return st;
    if (i < special.size()) out.push_back(special[i]);
  }
  if (add_bos && llama_vocab_get_add_eos(vocab_)) out.push_back(llama_vocab_eos(vocab_));
  placed = true;
  return Status::Ok();
}

Status PromptBuilder::RequestGrammar(const GenerateParams& params, std::string& out) const {
  if (params.json_schema.empty() && params.grammar.empty()) return Status::Ok();
  Result<std::string> gbnf = OutputGrammar(params);
  if (!gbnf.ok()) return gbnf.status();
  const char* field = params.grammar.empty() ? "json_schema" : "grammar";
  if (Status st = CheckGrammar(vocab_, *gbnf, field); !st.ok()) return st;
  out = std::move(gbnf).value();
  return Status::Ok();
}

Status PromptBuilder::PrepareFree(const GenerateParams& params, PreparedPrompt& out) const {
  if (Status st = RequestGrammar(params, out.grammar); !st.ok()) return st;
  return Build(params, out.tokens);
}

bool PromptBuilder::HasSpecialText(const std::string& text) const {
  for (const auto& [special, token] : specials_) {
    if (text.find(special) != std::string::npos) return true;
  }
  return false;
}

bool PromptBuilder::ToolTextHasSpecial(const GenerateParams& params) const {
  for (const ToolSpec& t : params.tools.tools) {
    if (HasSpecialText(t.name) || HasSpecialText(t.description) || HasSpecialText(t.parameters)) {
      return true;
    }
  }
  for (const ChatMessage& m : *params.messages) {
    if (HasSpecialText(m.tool_call_id) || HasSpecialText(m.name)) return true;
    for (const ToolCall& c : m.tool_calls) {
      if (HasSpecialText(c.id) || HasSpecialText(c.name) || HasSpecialText(c.arguments)) {
        return true;
      }
    }
  }
  return false;
}

Result<bool> PromptBuilder::PrepareNative(const GenerateParams& params, PreparedPrompt& out,
                                          std::string& why) const {
  const std::vector<ChatMessage>& messages = *params.messages;
  const bool mask = !special_in_content_ && ContentHasSpecialText(messages);
  std::optional<NativeToolPrompt> native =
      native_tools_->Apply(mask ? Masked(messages) : messages, params.tools, why);
  if (!native.has_value()) return false;
  if (!params.tools.active()) {
    // Only shown tools or past calls: the reply is free text, under the
    // request's own json_schema or grammar as without tools.
    if (Status st = RequestGrammar(params, native->grammar); !st.ok()) return st;
  } else if (Status st = CheckGrammar(vocab_, native->grammar, "tools"); !st.ok()) {
    // common's grammar must compile against this vocabulary too.
    why = "llama.cpp rejects common's tool grammar: " + st.message();
    return false;
  }
  bool placed = !mask;
  if (!mask) {
    if (Status st = TokenizeText(vocab_, native->prompt, /*add_special=*/true,
                                 /*parse_special=*/true, out.tokens);
        !st.ok()) {
      return st;
    }
  } else if (Status st = TokenizeMasked(native->prompt, messages, placed, out.tokens); !st.ok()) {
    return st;
  }
  if (!placed) {
    // As BuildSegmented: content the template rewrote makes it all plain text.
    std::optional<NativeToolPrompt> whole = native_tools_->Apply(messages, params.tools, why);
    if (!whole.has_value()) return false;
    if (Status st = TokenizeText(vocab_, whole->prompt, /*add_special=*/true,
                                 /*parse_special=*/false, out.tokens);
        !st.ok()) {
      return st;
    }
  }
  if (out.tokens.empty()) return Status::InvalidRequest("prompt is empty");
  out.grammar = std::move(native->grammar);
  out.grammar_lazy = native->grammar_lazy;
  out.trigger_patterns = std::move(native->trigger_patterns);
  out.trigger_tokens.assign(native->trigger_tokens.begin(), native->trigger_tokens.end());
  out.preserved_tokens.assign(native->preserved_tokens.begin(), native->preserved_tokens.end());
  out.extra_stops = std::move(native->stops);
  out.tool_parser = std::move(native->parser);
  return true;
}

Status PromptBuilder::PrepareTools(const GenerateParams& params, PreparedPrompt& out) const {
  const ToolRequest& tools = params.tools;
  if (tools.active() && (!params.json_schema.empty() || !params.grammar.empty())) {
    return Status::Unsupported("tools cannot be combined with a json_schema or grammar");
  }
  std::string why = native_tools_error_;
  if (native_tools_ != nullptr) {
    if (ToolTextHasSpecial(params)) {
      why = "the tools' text holds control-token text";
    } else {
      Result<bool> native = PrepareNative(params, out, why);
      if (!native.ok()) return native.status();
      if (*native) {
        if (log::Enabled(log::Level::kDebug)) {
          log::Debug("tools", {{"model", model_id_}, {"format", "native"}});
        }
        return Status::Ok();
      }
      out = PreparedPrompt{};
    }
  }
  // The generic format: the history's calls as text, and with active tools
  // their description and the reply's JSON schema. Tools shown but not
  // offered (tool_choice `none`) are left out here.
  GenerateParams generic;
  generic.messages = GenericToolMessages(tools, *params.messages);
  generic.json_schema = params.json_schema;
  generic.grammar = params.grammar;
  if (tools.active()) {
    generic.json_schema = GenericToolSchema(tools);
    if (log::Enabled(log::Level::kDebug)) {
      log::Debug("tools", {{"model", model_id_}, {"format", "generic"}, {"why", why}});
    }
  }
  if (Status st = PrepareFree(generic, out); !st.ok()) return st;
  if (tools.active()) out.tool_parser = GenericToolParser();
  return Status::Ok();
}

Result<PreparedPrompt> PromptBuilder::Prepare(const GenerateParams& params, int n_ctx) const {
  if (params.max_tokens <= 0) return Status::InvalidRequest("max_tokens must be positive");
  for (const auto& stop : params.stop) {
    if (!IsValidUtf8(stop)) return Status::InvalidRequest("stop strings must be valid UTF-8");
  }
  PreparedPrompt prepared;
  // Tools with tool_choice `none` are still shown (by a template that
  // describes them), as llama-server does; only active ones constrain.
  const bool tools = params.messages.has_value() &&
                     (!params.tools.tools.empty() || HasToolCalls(*params.messages));
  if (Status st = tools ? PrepareTools(params, prepared) : PrepareFree(params, prepared);
      !st.ok()) {
    return st;
  }
  const int n_prompt = static_cast<int>(prepared.tokens.size());
  if (n_prompt + 1 > n_ctx) {
    return Status::InvalidRequest("prompt is " + std::to_string(n_prompt) +
                                  " tokens; context size is " + std::to_string(n_ctx));
  }
  prepared.cells = static_cast<int>(std::min<int64_t>(
      static_cast<int64_t>(n_prompt) + static_cast<int64_t>(params.max_tokens), n_ctx));
  return prepared;
}

}  // namespace modeld::llm
