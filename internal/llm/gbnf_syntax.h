#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::llm {

// Checks GBNF syntax as llama.cpp's grammar parser reads it (rules, literals,
// character classes, tokens, groups, repetitions, comments) and that every
// referenced rule and `root` are defined. llama.cpp reports a syntax error
// only by printing it, with the whole grammar, to stderr; this check finds
// it first and says where, so a client gets the reason in its 400 and
// modeld's log stays JSON. What it accepts still goes through llama.cpp's
// parser (token references need the vocabulary).
// Returns InvalidRequest "<field> is invalid: <why> at line L column C".
Status CheckGbnfSyntax(std::string_view gbnf, const char* field);

// A token reference in a grammar: `<text>` (to be one token of the
// vocabulary) or `<[id]>` (`text` empty).
struct GbnfTokenRef {
  std::string text;  // with its angle brackets
  unsigned long long id = 0;
  size_t line = 0, column = 0;
};

// As above, and appends the grammar's token references to `tokens` (only
// the vocabulary can check them).
Status CheckGbnfSyntax(std::string_view gbnf, const char* field, std::vector<GbnfTokenRef>& tokens);

}  // namespace modeld::llm
