#pragma once

#include <string_view>

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

}  // namespace modeld::llm
