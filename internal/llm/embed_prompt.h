#pragma once

#include <llama.h>

#include <vector>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// Tokenizes an embeddings request's inputs into one PreparedPrompt (inputs
// one after another, `input_ends` marking where each ends) and checks them:
// at least one input, none empty, token ids inside the vocabulary, each
// input at most `n_ctx` tokens (each is embedded on its own). Text gets the
// vocabulary's BOS/EOS as a prompt does; token arrays are used as given.
// `cells` is the longest input: what the sequence occupies at most.
// Shared by a loaded model and the check before a switch.
Result<PreparedPrompt> PrepareEmbedding(const llama_vocab* vocab,
                                        const std::vector<EmbedInput>& inputs, int n_ctx);

}  // namespace modeld::llm
