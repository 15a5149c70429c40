#include "internal/llm/chat_template.h"

#include <exception>

// common's headers: only this file and output_grammar.cpp include them.
#include "chat-auto-parser.h"
#include "chat.h"
#include "log.h"

namespace modeld::llm {
namespace {

// The text of `token`, as the template's bos_token/eos_token variables
// hold it; empty when the vocabulary has none.
std::string TokenText(const llama_vocab* vocab, llama_token token) {
  if (token == LLAMA_TOKEN_NULL) return {};
  const char* text = llama_vocab_get_text(vocab, token);
  return text == nullptr ? std::string() : std::string(text);
}

Status TemplateError(std::string_view model_id, const char* what) {
  std::string msg = "the chat template of model '" + std::string(model_id) + "' failed: ";
  std::string why = what;
  if (why.size() > 300) why = why.substr(0, 300) + "...";
  return Status::TemplateError(msg + why);
}

}  // namespace

JinjaTemplate::~JinjaTemplate() = default;

bool JinjaTemplate::IsJinja(std::string_view source) {
  return source.find("{%") != std::string_view::npos || source.find("{{") != std::string_view::npos;
}

Result<std::unique_ptr<JinjaTemplate>> JinjaTemplate::Create(const llama_model* model,
                                                             const std::string& source,
                                                             std::string_view model_id) {
  QuietCommonLog();
  const llama_vocab* vocab = llama_model_get_vocab(model);
  std::unique_ptr<JinjaTemplate> t(new JinjaTemplate());
  t->model_id_ = std::string(model_id);
  t->add_bos_ = llama_vocab_get_add_bos(vocab);
  t->add_eos_ = llama_vocab_get_add_eos(vocab);
  try {
    t->tmpl_ = std::make_unique<common_chat_template>(
        source, TokenText(vocab, llama_vocab_bos(vocab)), TokenText(vocab, llama_vocab_eos(vocab)));
    t->system_role_ = t->tmpl_->original_caps().supports_system_role;
  } catch (const std::exception& e) {
    return TemplateError(model_id, e.what());
  }
  return t;
}

Status JinjaTemplate::Render(const std::vector<ChatMessage>& messages, std::string& out) const {
  try {
    autoparser::generation_params params;
    params.messages = common_json::array();
    std::string pending_system;  // for templates without a system role
    for (const ChatMessage& m : messages) {
      common_chat_msg msg;
      msg.role = m.role;
      msg.content = m.content;
      if (!system_role_ && m.role == "system") {
        // llama.cpp's workaround too: system text joins the next user turn.
        if (!pending_system.empty()) pending_system.append("\n\n");
        pending_system.append(m.content);
        continue;
      }
      if (!pending_system.empty() && m.role == "user") {
        msg.content = pending_system + "\n\n" + msg.content;
        pending_system.clear();
      }
      params.messages.push_back(msg.to_json_oaicompat());
    }
    if (!pending_system.empty()) {
      common_chat_msg msg;
      msg.role = "user";
      msg.content = pending_system;
      params.messages.push_back(msg.to_json_oaicompat());
    }
    params.add_generation_prompt = true;
    params.add_bos = add_bos_;
    params.add_eos = add_eos_;
    out = common_chat_template_direct_apply(*tmpl_, params);
  } catch (const std::exception& e) {
    return TemplateError(model_id_, e.what());
  }
  // Jinja renders undefined variables as nothing; a chat prompt of nothing
  // means the template does not fit (e.g. "{{ garbage }}").
  if (out.empty()) return TemplateError(model_id_, "it rendered an empty prompt");
  return Status::Ok();
}

void QuietCommonLog() {
  static const bool once = [] {
    common_log_set_verbosity_thold(-1);
    return true;
  }();
  (void)once;
}

}  // namespace modeld::llm
