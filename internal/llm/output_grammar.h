#pragma once

// Grammars that constrain generated text: a request's JSON schema becomes
// GBNF through llama.cpp's common library, and any GBNF is compiled against
// a vocabulary before a request is admitted.

#include <llama.h>

#include <string>

#include "internal/llm/adapter.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// The GBNF that constrains `params`' output: its `grammar` as given, or its
// `json_schema` converted by common's json_schema_to_grammar; empty when
// the output is free. A schema that is not JSON, or that the converter
// rejects, is InvalidRequest naming the problem.
Result<std::string> OutputGrammar(const GenerateParams& params);

// Compiles `gbnf` against `vocab` (llama.cpp's grammar parser needs the
// vocabulary for token references) and frees it again. A grammar llama.cpp
// cannot use is InvalidRequest naming what it reported. `field` names the
// request field in the message ("grammar", "json_schema").
Status CheckGrammar(const llama_vocab* vocab, const std::string& gbnf, const char* field);

}  // namespace modeld::llm
