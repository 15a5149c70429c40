#include "internal/llm/llama_prompt.h"

#include <algorithm>
#include <climits>

namespace modeld::llm {

Status FormatChat(const llama_model* model, const std::string& template_override,
                  const std::vector<ChatMessage>& messages, std::string_view model_id,
                  std::string& out) {
  const char* tmpl = template_override.empty() ? llama_model_chat_template(model, nullptr)
                                               : template_override.c_str();
  if (tmpl == nullptr || *tmpl == '\0') {
    return Status::TemplateError("model '" + std::string(model_id) +
                                 "' has no chat template; set chat_template in its config");
  }
  std::vector<llama_chat_message> chat;
  chat.reserve(messages.size());
  size_t total = 0;
  for (const auto& m : messages) {
    chat.push_back({m.role.c_str(), m.content.c_str()});
    total += m.role.size() + m.content.size();
  }
  if (total > INT_MAX / 4) return Status::InvalidRequest("chat messages are too large");
  out.resize(std::max<size_t>(256, 2 * total + 256));
  int32_t n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), /*add_ass=*/true,
                                        out.data(), static_cast<int32_t>(out.size()));
  if (n > static_cast<int32_t>(out.size())) {
    out.resize(static_cast<size_t>(n));
    n = llama_chat_apply_template(tmpl, chat.data(), chat.size(), true, out.data(),
                                  static_cast<int32_t>(out.size()));
  }
  if (n < 0) {
    return Status::TemplateError("the chat template of model '" + std::string(model_id) +
                                 "' is not supported by llama.cpp");
  }
  out.resize(static_cast<size_t>(n));
  return Status::Ok();
}

Status TokenizeText(const llama_vocab* vocab, std::string_view text, bool add_special,
                    bool parse_special, std::vector<llama_token>& out) {
  if (text.size() > INT_MAX / 2) return Status::InvalidRequest("prompt is too large");
  const bool add_bos = add_special && llama_vocab_get_add_bos(vocab);
  const auto len = static_cast<int32_t>(text.size());
  // Every token covers at least one byte, except BOS/EOS and a space prefix.
  out.resize(text.size() + 4);
  int32_t n = llama_tokenize(vocab, text.data(), len, out.data(), static_cast<int32_t>(out.size()),
                             add_bos, parse_special);
  if (n < 0 && n != INT32_MIN) {
    out.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), len, out.data(), static_cast<int32_t>(out.size()),
                       add_bos, parse_special);
  }
  if (n < 0) return Status::InvalidRequest("prompt could not be tokenized");
  out.resize(static_cast<size_t>(n));
  return Status::Ok();
}

}  // namespace modeld::llm
