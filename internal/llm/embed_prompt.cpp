#include "internal/llm/embed_prompt.h"

#include <algorithm>
#include <string>

#include "internal/llm/llama_prompt.h"

namespace modeld::llm {
namespace {

std::string Where(size_t i) { return "input[" + std::to_string(i) + "]"; }

}  // namespace

Result<PreparedPrompt> PrepareEmbedding(const llama_vocab* vocab,
                                        const std::vector<EmbedInput>& inputs, int n_ctx) {
  if (inputs.empty()) return Status::InvalidRequest("input must not be empty");
  const int n_vocab = llama_vocab_n_tokens(vocab);
  PreparedPrompt prepared;
  prepared.input_ends.reserve(inputs.size());
  std::vector<llama_token> tokens;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const EmbedInput& in = inputs[i];
    if (in.tokens.has_value()) {
      tokens.assign(in.tokens->begin(), in.tokens->end());
      for (llama_token t : tokens) {
        if (t < 0 || t >= n_vocab) {
          return Status::InvalidRequest(Where(i) + " holds token id " + std::to_string(t) +
                                        ", outside the vocabulary (0.." +
                                        std::to_string(n_vocab - 1) + ")");
        }
      }
    } else if (Status st = TokenizeText(vocab, in.text, /*add_special=*/true,
                                        /*parse_special=*/false, tokens);
               !st.ok()) {
      return st;
    }
    if (tokens.empty()) return Status::InvalidRequest(Where(i) + " is empty");
    const int n = static_cast<int>(tokens.size());
    if (n > n_ctx) {
      return Status::InvalidRequest(Where(i) + " is " + std::to_string(n) +
                                    " tokens; context size is " + std::to_string(n_ctx));
    }
    prepared.tokens.insert(prepared.tokens.end(), tokens.begin(), tokens.end());
    prepared.input_ends.push_back(static_cast<int>(prepared.tokens.size()));
    prepared.cells = std::max(prepared.cells, n);
  }
  return prepared;
}

}  // namespace modeld::llm
