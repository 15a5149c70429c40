#include "internal/llm/tool_template.h"

#include <algorithm>
#include <exception>
#include <map>

#include "internal/llm/chat_template.h"

// common's headers: only the files that wrap common include them.
#include "chat.h"
#include "common.h"
#include "json-schema-to-grammar.h"
#include "peg-parser.h"

namespace modeld::llm {
namespace {

// Reads a reply with the parser common generated for the template.
class NativeParser final : public ToolReplyParser {
 public:
  NativeParser(common_chat_parser_params params, bool parallel)
      : params_(std::move(params)), parallel_(parallel) {}

  bool Parse(std::string_view text, ToolReply& out) const override {
    try {
      const common_chat_msg msg =
          common_chat_parse(std::string(text), /*is_partial=*/false, params_);
      out.content = msg.content;
      for (const common_chat_tool_call& c : msg.tool_calls) {
        out.calls.push_back({c.id, c.name, c.arguments.empty() ? "{}" : c.arguments});
        if (!parallel_) break;  // OpenAI: at most one call without parallel_tool_calls
      }
      return true;
    } catch (const std::exception&) {
      return false;  // not in the template's format
    }
  }
  std::string_view format() const override { return "native"; }

 private:
  // Constant after construction.
  const common_chat_parser_params params_;
  const bool parallel_;
};

// The GBNF of the calls alone: the rules common marks as where a call
// begins (what a lazy grammar applies from), without the generation prompt
// and the free text before a call that the parser's root allows. Used
// lazily for `auto` and from the first token for `required`, so a forced
// call starts at once and is always well-formed.
std::string CallGrammar(const common_peg_arena& arena, const ToolRequest& tools) {
  return build_grammar([&](const common_grammar_builder& b) {
    for (const ToolSpec& t : tools.tools) {
      common_json schema = common_json::parse(t.parameters);
      b.resolve_refs(schema);
    }
    common_grammar_builder calls = b;
    if (!tools.parallel) {
      // The generic autoparser repeats per-call blocks whatever
      // parallel_tool_calls says; one call is what OpenAI promises.
      calls.add_rule = [&b](const std::string& name, const std::string& rule) {
        if (name == "tool-calls" && rule == "(tool-call space)+") {
          return b.add_rule(name, "tool-call space");
        }
        return b.add_rule(name, rule);
      };
    }
    arena.build_grammar(calls, /*lazy=*/true);
  });
}

// The single token `text` is, or LLAMA_TOKEN_NULL.
llama_token SingleToken(const llama_vocab* vocab, const std::string& text) {
  llama_token ids[2];
  const int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids, 2,
                                   /*add_special=*/false, /*parse_special=*/true);
  return n == 1 ? ids[0] : LLAMA_TOKEN_NULL;
}

common_chat_msg ToCommon(const ChatMessage& m) {
  common_chat_msg msg;
  msg.role = m.role;
  msg.content = m.content;
  for (const ToolCall& c : m.tool_calls) msg.tool_calls.push_back({c.name, c.arguments, c.id});
  msg.tool_call_id = m.tool_call_id;
  msg.tool_name = m.name;
  return msg;
}

}  // namespace

NativeTools::~NativeTools() = default;

std::unique_ptr<NativeTools> NativeTools::Create(const llama_model* model,
                                                 const std::string& override_source,
                                                 std::string& why) {
  QuietCommonLog();
  std::unique_ptr<NativeTools> t(new NativeTools());
  t->vocab_ = llama_model_get_vocab(model);
  try {
    common_chat_templates_ptr tmpls = common_chat_templates_init(model, override_source);
    const std::map<std::string, bool> caps = common_chat_templates_get_caps(tmpls.get());
    auto it = caps.find("supports_tools");
    t->supports_tools_ = it != caps.end() && it->second;
    t->tmpls_ = {tmpls.release(), common_chat_templates_free};
  } catch (const std::exception& e) {
    why = std::string("common cannot parse the chat template: ") + e.what();
    return nullptr;
  }
  return t;
}

std::optional<NativeToolPrompt> NativeTools::Apply(const std::vector<ChatMessage>& messages,
                                                   const ToolRequest& tools,
                                                   std::string& why) const {
  if (!supports_tools_) {
    why = "the chat template does not describe tools";
    return std::nullopt;
  }
  common_chat_templates_inputs in;
  for (const ChatMessage& m : messages) in.messages.push_back(ToCommon(m));
  for (const ToolSpec& t : tools.tools) in.tools.push_back({t.name, t.description, t.parameters});
  in.tool_choice = !tools.active()                         ? COMMON_CHAT_TOOL_CHOICE_NONE
                   : tools.choice == ToolChoice::kRequired ? COMMON_CHAT_TOOL_CHOICE_REQUIRED
                                                           : COMMON_CHAT_TOOL_CHOICE_AUTO;
  in.parallel_tool_calls = tools.parallel;
  in.add_generation_prompt = true;
  in.use_jinja = true;
  common_chat_params r;
  NativeToolPrompt out;
  try {
    r = common_chat_templates_apply(tmpls_.get(), in);
    if (!tools.active()) {
      // As llama-server: the template shows the tools and the history's
      // calls; nothing constrains or parses the reply.
      if (r.prompt.empty()) {
        why = "common rendered an empty prompt";
        return std::nullopt;
      }
      out.prompt = std::move(r.prompt);
      out.stops = std::move(r.additional_stops);
      return out;
    }
    if (r.prompt.empty() || r.grammar.empty() || r.parser.empty()) {
      why = "common found no tool-call format in the chat template";
      return std::nullopt;
    }
    if (tools.choice == ToolChoice::kAuto && r.grammar_triggers.empty()) {
      why = "the chat template's tool calls have no start marker";
      return std::nullopt;
    }
    common_chat_parser_params parse(r);
    parse.parser.load(r.parser);
    out.grammar = CallGrammar(parse.parser, tools);
    out.parser = std::make_shared<NativeParser>(std::move(parse), tools.parallel);
  } catch (const std::exception& e) {
    why = std::string("common could not use the chat template for tools: ") + e.what();
    return std::nullopt;
  }
  out.prompt = std::move(r.prompt);
  out.grammar_lazy = tools.choice == ToolChoice::kAuto;
  out.stops = std::move(r.additional_stops);
  for (const std::string& text : r.preserved_tokens) {
    const llama_token id = SingleToken(vocab_, text);
    if (id != LLAMA_TOKEN_NULL) out.preserved_tokens.push_back(id);
  }
  if (out.grammar_lazy) {
    // As common's sampler reads triggers: a word that is one preserved
    // token triggers on that token, other words as escaped patterns.
    for (const common_grammar_trigger& tr : r.grammar_triggers) {
      switch (tr.type) {
        case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN:
          out.trigger_tokens.push_back(tr.token);
          break;
        case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: {
          const llama_token id = SingleToken(vocab_, tr.value);
          if (id != LLAMA_TOKEN_NULL &&
              std::find(out.preserved_tokens.begin(), out.preserved_tokens.end(), id) !=
                  out.preserved_tokens.end()) {
            out.trigger_tokens.push_back(id);
          } else {
            out.trigger_patterns.push_back(regex_escape(tr.value));
          }
          break;
        }
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN:
          out.trigger_patterns.push_back(tr.value);
          break;
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
          std::string p = tr.value;
          if (p.empty() || p.front() != '^') p.insert(p.begin(), '^');
          if (p.back() != '$') p.push_back('$');
          out.trigger_patterns.push_back(std::move(p));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace modeld::llm
