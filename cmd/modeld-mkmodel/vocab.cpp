#include "cmd/modeld-mkmodel/vocab.h"

#include <cstdio>
#include <string_view>
#include <unordered_set>

namespace modeld::mkmodel {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 "▁", SentencePiece's space

// Single characters beyond printable ASCII: accented Latin, punctuation,
// Greek, Cyrillic, CJK, kana, Hangul and emoji.
constexpr std::string_view kChars[] = {
    "é",  "è",  "ê",  "à",  "â",  "ç",  "ô",  "ù",  "û",  "ü",  "ö",  "ä",    "ß",  "ñ",
    "á",  "í",  "ó",  "ú",  "ï",  "ë",  "å",  "ø",  "æ",  "Ü",  "Ö",  "Ä",    "É",  "Ç",
    "€",  "£",  "¥",  "°",  "—",  "–",  "…",  "“",  "”",  "‘",  "’",  "«",    "»",  "¿",
    "¡",  "·",  "α",  "β",  "γ",  "δ",  "λ",  "μ",  "π",  "σ",  "Ω",  "а",    "б",  "в",
    "г",  "д",  "е",  "ж",  "и",  "й",  "к",  "л",  "м",  "н",  "о",  "п",    "р",  "с",
    "т",  "у",  "ф",  "х",  "ч",  "ы",  "я",  "中", "文", "日", "本", "語",   "人", "大",
    "国", "我", "你", "是", "的", "一", "不", "了", "在", "有", "个", "上",   "这", "好",
    "の", "に", "は", "を", "た", "が", "で", "て", "と", "し", "한", "국",   "어", "🙂",
    "😀",  "😂",  "👍",  "❤",  "🔥",  "✨",  "🚀",  "🎉",  "🌍",  "✅",  "❌",  "🤖", "💡",
};

// Whole words, each added as "▁word" (and, for the first ones, "▁Word").
constexpr std::string_view kWords[] = {
    "the",      "of",         "and",      "to",       "a",       "in",       "is",       "it",
    "you",      "that",       "he",       "was",      "for",     "on",       "are",      "with",
    "as",       "I",          "his",      "they",     "be",      "at",       "one",      "have",
    "this",     "from",       "or",       "had",      "by",      "not",      "word",     "but",
    "what",     "some",       "we",       "can",      "out",     "other",    "were",     "all",
    "there",    "when",       "up",       "use",      "your",    "how",      "said",     "an",
    "each",     "she",        "which",    "do",       "their",   "time",     "if",       "will",
    "way",      "about",      "many",     "then",     "them",    "write",    "would",    "like",
    "so",       "these",      "her",      "long",     "make",    "thing",    "see",      "him",
    "two",      "has",        "look",     "more",     "day",     "could",    "go",       "come",
    "did",      "number",     "sound",    "no",       "most",    "people",   "my",       "over",
    "know",     "water",      "than",     "call",     "first",   "who",      "may",      "down",
    "side",     "been",       "now",      "find",     "any",     "new",      "work",     "part",
    "take",     "get",        "place",    "made",     "live",    "where",    "after",    "back",
    "little",   "only",       "round",    "man",      "year",    "came",     "show",     "every",
    "good",     "me",         "give",     "our",      "under",   "name",     "very",     "through",
    "just",     "form",       "sentence", "great",    "think",   "say",      "help",     "low",
    "line",     "differ",     "turn",     "cause",    "much",    "mean",     "before",   "move",
    "right",    "boy",        "old",      "too",      "same",    "tell",     "does",     "set",
    "three",    "want",       "air",      "well",     "also",    "play",     "small",    "end",
    "put",      "home",       "read",     "hand",     "port",    "large",    "spell",    "add",
    "even",     "land",       "here",     "must",     "big",     "high",     "such",     "follow",
    "act",      "why",        "ask",      "men",      "change",  "went",     "light",    "kind",
    "off",      "need",       "house",    "picture",  "try",     "us",       "again",    "animal",
    "point",    "mother",     "world",    "near",     "build",   "self",     "earth",    "father",
    "head",     "stand",      "own",      "page",     "should",  "country",  "found",    "answer",
    "school",   "grow",       "study",    "still",    "learn",   "plant",    "cover",    "food",
    "sun",      "four",       "between",  "state",    "keep",    "eye",      "never",    "last",
    "let",      "thought",    "city",     "tree",     "cross",   "farm",     "hard",     "start",
    "might",    "story",      "saw",      "far",      "sea",     "draw",     "left",     "late",
    "run",      "while",      "press",    "close",    "night",   "real",     "life",     "few",
    "north",    "open",       "seem",     "together", "next",    "white",    "children", "begin",
    "got",      "walk",       "example",  "ease",     "paper",   "group",    "always",   "music",
    "those",    "both",       "mark",     "often",    "letter",  "until",    "mile",     "river",
    "car",      "feet",       "care",     "second",   "book",    "carry",    "took",     "science",
    "eat",      "room",       "friend",   "began",    "idea",    "fish",     "mountain", "stop",
    "once",     "base",       "hear",     "horse",    "cut",     "sure",     "watch",    "color",
    "face",     "wood",       "main",     "enough",   "plain",   "girl",     "usual",    "young",
    "ready",    "above",      "ever",     "red",      "list",    "though",   "feel",     "talk",
    "bird",     "soon",       "body",     "dog",      "family",  "direct",   "pose",     "leave",
    "song",     "measure",    "door",     "product",  "black",   "short",    "numeral",  "class",
    "wind",     "question",   "happen",   "complete", "ship",    "area",     "half",     "rock",
    "order",    "fire",       "south",    "problem",  "piece",   "told",     "knew",     "pass",
    "since",    "top",        "whole",    "king",     "space",   "heard",    "best",     "hour",
    "better",   "true",       "during",   "hundred",  "five",    "remember", "step",     "early",
    "hold",     "west",       "ground",   "interest", "reach",   "fast",     "verb",     "sing",
    "listen",   "six",        "table",    "travel",   "less",    "morning",  "ten",      "simple",
    "several",  "vowel",      "toward",   "war",      "lay",     "against",  "pattern",  "slow",
    "center",   "love",       "person",   "money",    "serve",   "appear",   "road",     "map",
    "rain",     "rule",       "govern",   "pull",     "cold",    "notice",   "voice",    "unit",
    "power",    "town",       "fine",     "certain",  "fly",     "fall",     "lead",     "cry",
    "dark",     "machine",    "note",     "wait",     "plan",    "figure",   "star",     "box",
    "noun",     "field",      "rest",     "correct",  "able",    "pound",    "done",     "beauty",
    "drive",    "stood",      "contain",  "front",    "teach",   "week",     "final",    "gave",
    "green",    "oh",         "quick",    "develop",  "ocean",   "warm",     "free",     "minute",
    "strong",   "special",    "mind",     "behind",   "clear",   "tail",     "produce",  "fact",
    "street",   "inch",       "multiply", "nothing",  "course",  "stay",     "wheel",    "full",
    "force",    "blue",       "object",   "decide",   "surface", "deep",     "moon",     "island",
    "foot",     "system",     "busy",     "test",     "record",  "boat",     "common",   "gold",
    "possible", "plane",      "stead",    "dry",      "wonder",  "laugh",    "thousand", "ago",
    "ran",      "check",      "game",     "shape",    "equate",  "hot",      "miss",     "brought",
    "heat",     "snow",       "tire",     "bring",    "yes",     "distant",  "fill",     "east",
    "paint",    "language",   "among",    "hello",    "model",   "token",    "server",   "request",
    "stream",   "switch",     "load",     "data",     "file",    "error",    "return",   "int",
    "void",     "class",      "const",    "auto",     "café",    "über",     "naïve",    "niño",
    "español",  "français",   "größe",    "привет",   "мир",     "中文",     "日本語",   "你好",
    "世界",     "こんにちは", "안녕",
};

// Word endings, added without "▁" so they attach to the previous piece.
constexpr std::string_view kSuffixes[] = {
    "s",    "es",   "ed",   "ing", "er",   "ers", "est", "ly",  "tion", "tions",
    "ment", "ness", "able", "ful", "less", "ity", "ous", "ive", "al",   "ism",
    "ist",  "ize",  "'s",   "n't", "'re",  "'ll", "'ve", "'m",  "'d",   "()",
    "();",  "{}",   "[]",   "->",  "::",   "==",  "!=",  "<=",  ">=",   "&&",
    "||",   "//",   "/*",   "*/",  "...",  "\",", "\".", ".\"", ",\"",
};

// Pronounceable filler: onset + vowel + coda syllables.
constexpr std::string_view kOnsets[] = {"b", "c",  "d",  "f",  "g",  "h",  "k",  "l",
                                        "m", "n",  "p",  "r",  "s",  "t",  "v",  "w",
                                        "z", "ch", "sh", "th", "st", "tr", "pr", "bl"};
constexpr std::string_view kVowels[] = {"a", "e", "i", "o", "u", "ai", "ea", "ou"};
constexpr std::string_view kCodas[] = {"", "n", "r", "s", "t", "l", "m", "nd", "st"};

constexpr int kFixedTokens = 3 + 256 + 2;  // specials, bytes, ChatML markers

// Length of the UTF-8 sequence starting with byte c (1 for invalid bytes).
size_t Utf8Len(unsigned char c) {
  if (c >= 0xF0) {
    return 4;
  }
  if (c >= 0xE0) {
    return 3;
  }
  if (c >= 0xC0) {
    return 2;
  }
  return 1;
}

// Appends unique pieces up to n_vocab. Not thread-safe; one per BuildVocab call.
class Builder {
 public:
  explicit Builder(int n_vocab) : n_vocab_(n_vocab) {}

  bool full() const { return static_cast<int>(v_.pieces.size()) >= n_vocab_; }

  int Add(std::string piece, TokenType type) {
    if (full() || piece.empty() || !seen_.insert(piece).second) {
      return -1;
    }
    v_.pieces.push_back(std::move(piece));
    v_.types.push_back(type);
    // Normal pieces score like a merge order: earlier (shorter) merges first.
    v_.scores.push_back(type == TokenType::kNormal ? -static_cast<float>(normal_++) : 0.0f);
    return static_cast<int>(v_.pieces.size()) - 1;
  }

  // Adds every UTF-8-character prefix of piece that is missing, then piece.
  void AddWithPrefixes(const std::string& piece) {
    for (size_t end = 0; end < piece.size() && !full();) {
      end += Utf8Len(static_cast<unsigned char>(piece[end]));
      Add(piece.substr(0, std::min(end, piece.size())), TokenType::kNormal);
    }
  }

  Vocab Take() { return std::move(v_); }
  Vocab& vocab() { return v_; }

 private:
  int n_vocab_;
  int normal_ = 0;
  Vocab v_;
  std::unordered_set<std::string> seen_;
};

void AddFiller(Builder& b) {
  std::vector<std::string> syllables;
  for (auto on : kOnsets) {
    for (auto vo : kVowels) {
      for (auto co : kCodas) {
        syllables.push_back(std::string(on) + std::string(vo) + std::string(co));
      }
    }
  }
  const std::string space(kSpace);
  for (const auto& s : syllables) {
    b.AddWithPrefixes(space + s);
    b.AddWithPrefixes(s);
  }
  // Every pair once, in an order that varies the first syllable quickly, so
  // a 32000-piece vocabulary does not consist mostly of "ba..." pieces.
  const size_t n = syllables.size();
  for (size_t k = 0; k < n * n && !b.full(); ++k) {
    const size_t i = k % n, j = (k / n + 131 * i) % n;
    b.AddWithPrefixes(space + syllables[i] + syllables[j]);
    b.AddWithPrefixes(syllables[i] + syllables[j]);
  }
}

}  // namespace

int MinVocabSize() { return 512; }

Result<Vocab> BuildVocab(int n_vocab) {
  if (n_vocab < MinVocabSize()) {
    return Status::InvalidRequest("vocabulary size must be at least " +
                                  std::to_string(MinVocabSize()));
  }
  Builder b(n_vocab);
  Vocab& v = b.vocab();
  v.unk_id = b.Add("<unk>", TokenType::kUnknown);
  v.bos_id = b.Add("<s>", TokenType::kControl);
  v.eos_id = b.Add("</s>", TokenType::kControl);
  for (int i = 0; i < 256; ++i) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", i);
    b.Add(buf, TokenType::kByte);
  }
  v.im_start_id = b.Add("<|im_start|>", TokenType::kControl);
  v.im_end_id = b.Add("<|im_end|>", TokenType::kControl);

  const std::string space(kSpace);
  b.AddWithPrefixes(space);
  b.AddWithPrefixes(space + space);
  b.AddWithPrefixes(space + space + space + space);
  for (char c = 0x21; c < 0x7F; ++c) {
    b.AddWithPrefixes(std::string(1, c));
  }
  for (auto c : kChars) {
    b.AddWithPrefixes(std::string(c));
  }
  for (size_t i = 0; i < std::size(kWords); ++i) {
    std::string w(kWords[i]);
    b.AddWithPrefixes(space + w);
    if (i < 200 && w[0] >= 'a' && w[0] <= 'z') {
      w[0] = static_cast<char>(w[0] - 'a' + 'A');
      b.AddWithPrefixes(space + w);
    }
  }
  for (auto s : kSuffixes) {
    b.AddWithPrefixes(std::string(s));
  }
  AddFiller(b);

  if (v.size() != n_vocab) {
    return Status::InvalidRequest("vocabulary size " + std::to_string(n_vocab) +
                                  " is larger than the piece generator supports");
  }
  static_assert(kFixedTokens < 512);
  return b.Take();
}

const char* ChatMlTemplate() {
  return "{% for message in messages %}"
         "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' "
         "}}"
         "{% endfor %}"
         "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
}

}  // namespace modeld::mkmodel
