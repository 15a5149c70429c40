#pragma once

// The synthetic SentencePiece-style ("llama" tokenizer model) vocabulary of
// generated models. It depends only on its size, never on the weight seed, so
// every generated model of one vocabulary size tokenizes text identically.

#include <cstdint>
#include <string>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::mkmodel {

// GGUF tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// A plain value type; safe to copy between threads.
struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;

  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t im_start_id = -1;
  int32_t im_end_id = -1;

  int size() const { return static_cast<int>(pieces.size()); }
  // Tokens a model should never sample: control tokens and <unk>.
  bool IsSpecial(int id) const {
    return types[id] == TokenType::kControl || types[id] == TokenType::kUnknown;
  }
};

// The smallest vocabulary BuildVocab accepts: the special and byte tokens
// plus the most common single characters.
int MinVocabSize();

// <unk>, <s>, </s>, <0x00>..<0xFF> (byte fallback, so every UTF-8 string
// tokenizes), <|im_start|>, <|im_end|>, then normal pieces: single characters
// (ASCII, accented Latin, CJK, Cyrillic, emoji), "▁"-prefixed words and their
// prefixes, suffixes, and pronounceable filler pieces up to n_vocab. Every
// multi-character piece has its one-character-shorter prefix earlier in the
// list, so SentencePiece's pairwise merging can reach it. Scores fall with
// the index, like a BPE merge order.
Result<Vocab> BuildVocab(int n_vocab);

// A ChatML template that llama_chat_apply_template detects as "chatml".
const char* ChatMlTemplate();

}  // namespace modeld::mkmodel
