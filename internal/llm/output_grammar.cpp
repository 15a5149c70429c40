#include "internal/llm/output_grammar.h"

#include <exception>
#include <string>
#include <vector>

#include "internal/llm/chat_template.h"
#include "internal/llm/gbnf_syntax.h"
#include "internal/llm/llama_log.h"

// common's headers: only this file (and the chat glue) includes them.
#include "json-schema-to-grammar.h"
#include "json.h"

namespace modeld::llm {
namespace {

// Messages from the converter can quote the schema; keep them readable.
std::string Clip(std::string s) {
  constexpr size_t kMax = 300;
  if (s.size() > kMax) {
    s.resize(kMax);
    s.append("...");
  }
  return s;
}

}  // namespace

Result<std::string> OutputGrammar(const GenerateParams& params) {
  if (!params.grammar.empty()) return params.grammar;
  if (params.json_schema.empty()) return std::string();
  QuietCommonLog();
  try {
    common_json schema = common_json::parse(params.json_schema);
    if (!schema.is_object()) return Status::InvalidRequest("json_schema must be a JSON object");
    std::string gbnf = json_schema_to_grammar(schema);
    if (gbnf.empty()) return Status::InvalidRequest("json_schema gives an empty grammar");
    return gbnf;
  } catch (const std::exception& e) {
    return Status::InvalidRequest("json_schema is not supported: " + Clip(e.what()));
  }
}

Status CheckGrammar(const llama_vocab* vocab, const std::string& gbnf, const char* field) {
  std::vector<GbnfTokenRef> tokens;
  if (Status st = CheckGbnfSyntax(gbnf, field, tokens); !st.ok()) return st;
  // Token references need the vocabulary; llama.cpp would print a bad one
  // to stderr, so they are checked here the way it resolves them.
  const auto n_vocab = static_cast<unsigned long long>(llama_vocab_n_tokens(vocab));
  for (const GbnfTokenRef& t : tokens) {
    const std::string where =
        " at line " + std::to_string(t.line) + " column " + std::to_string(t.column);
    if (t.text.empty()) {
      if (t.id >= n_vocab) {
        return Status::InvalidRequest(std::string(field) + " is invalid: token id " +
                                      std::to_string(t.id) + " is not in the vocabulary (" +
                                      std::to_string(n_vocab) + " tokens)" + where);
      }
      continue;
    }
    llama_token ids[2];
    const int32_t n = llama_tokenize(vocab, t.text.data(), static_cast<int32_t>(t.text.size()), ids,
                                     2, /*add_special=*/false, /*parse_special=*/true);
    if (n != 1) {
      return Status::InvalidRequest(std::string(field) + " is invalid: " + Clip(t.text) +
                                    " is not one token of the vocabulary" + where);
    }
  }
  LlamaThreadErrors errors;  // llama.cpp only logs why a grammar fails
  llama_sampler* s = nullptr;
  try {
    s = llama_sampler_init_grammar(vocab, gbnf.c_str(), "root");
  } catch (const std::exception& e) {
    return Status::InvalidRequest(std::string(field) + " is invalid: " + Clip(e.what()));
  }
  if (s == nullptr) {
    std::string why = errors.Text();
    if (why.empty()) why = "llama.cpp's grammar parser rejected it";
    return Status::InvalidRequest(std::string(field) + " is invalid: " + Clip(why));
  }
  llama_sampler_free(s);
  return Status::Ok();
}

}  // namespace modeld::llm
