#include "internal/llm/gbnf_syntax.h"

#include <set>
#include <string>

namespace modeld::llm {
namespace {

// llama.cpp's limit on {m,n} counts (MAX_REPETITION_THRESHOLD).
constexpr unsigned long long kMaxRepetitions = 2000;

struct SyntaxError {
  const char* what;
  size_t pos;
};

// A recursive-descent reader following llama-grammar.cpp's parse_* functions.
// Thread-safety: one instance per check.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  void Grammar() {
    Space(true);
    while (!End()) Rule();
  }
  const std::set<std::string>& defined() const { return defined_; }
  const std::set<std::pair<std::string, size_t>>& used() const { return used_; }
  // Token references: (text or empty, id, position).
  struct Token {
    std::string text;
    unsigned long long id;
    size_t pos;
  };
  const std::vector<Token>& tokens() const { return tokens_; }

 private:
  bool End() const { return p_ >= s_.size(); }
  char At(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }
  [[noreturn]] void Fail(const char* what) const { throw SyntaxError{what, p_}; }
  static bool Word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  }
  static bool Digit(char c) { return c >= '0' && c <= '9'; }

  void Space(bool newline_ok) {
    while (!End()) {
      const char c = At();
      if (c == '#') {
        while (!End() && At() != '\r' && At() != '\n') ++p_;
      } else if (c == ' ' || c == '\t' || (newline_ok && (c == '\r' || c == '\n'))) {
        ++p_;
      } else {
        break;
      }
    }
  }
  std::string Name() {
    const size_t start = p_;
    while (Word(At())) ++p_;
    if (p_ == start) Fail("expecting a rule name");
    return std::string(s_.substr(start, p_ - start));
  }
  unsigned long long Int() {
    const size_t start = p_;
    unsigned long long v = 0;
    while (Digit(At())) {
      if (v < 1'000'000'000'000ULL) v = v * 10 + static_cast<unsigned>(At() - '0');
      ++p_;
    }
    if (p_ == start) Fail("expecting an integer");
    return v;
  }
  void Hex(int n) {
    for (int i = 0; i < n; ++i) {
      const char c = At();
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        Fail("expecting hex digits after \\x, \\u or \\U");
      }
      ++p_;
    }
  }
  // One character of a literal or class: an escape or one UTF-8 character.
  void Char() {
    if (End()) Fail("unexpected end of input");
    if (At() != '\\') {
      const auto b = static_cast<unsigned char>(At());
      const int len = b < 0x80         ? 1
                      : (b >> 5) == 6  ? 2
                      : (b >> 4) == 14 ? 3
                      : (b >> 3) == 30 ? 4
                                       : 0;
      if (len == 0) Fail("invalid UTF-8");
      p_ += static_cast<size_t>(len);
      if (p_ > s_.size()) Fail("invalid UTF-8");
      return;
    }
    switch (At(1)) {
      case 'x':
        p_ += 2;
        Hex(2);
        return;
      case 'u':
        p_ += 2;
        Hex(4);
        return;
      case 'U':
        p_ += 2;
        Hex(8);
        return;
      case 't':
      case 'r':
      case 'n':
      case '\\':
      case '"':
      case '[':
      case ']':
      case '-':
        p_ += 2;
        return;
      default:
        Fail("unknown escape");
    }
  }
  void TokenRef() {
    if (At() == '!') ++p_;
    if (At() != '<') Fail("expecting '<'");
    const size_t start = p_;
    ++p_;
    if (At() == '[') {
      ++p_;
      const unsigned long long id = Int();
      if (At() != ']') Fail("expecting ']'");
      ++p_;
      if (At() != '>') Fail("expecting '>'");
      ++p_;
      tokens_.push_back({std::string(), id, start});
      return;
    }
    while (!End() && At() != '>') ++p_;
    if (At() != '>') Fail("expecting '>'");
    ++p_;
    tokens_.push_back({std::string(s_.substr(start, p_ - start)), 0, start});
  }
  void Repeat(bool have_item) {
    if (!have_item) Fail("expecting an item before */+/?/{");
  }

  void Sequence(bool nested) {
    bool item = false;
    while (!End()) {
      const char c = At();
      if (c == '"') {
        ++p_;
        while (At() != '"') {
          if (End()) Fail("unexpected end of input in a literal");
          Char();
        }
        ++p_;
        item = true;
      } else if (c == '[') {
        ++p_;
        if (At() == '^') ++p_;
        while (At() != ']') {
          if (End()) Fail("unexpected end of input in a character class");
          Char();
          if (At() == '-' && At(1) != ']') {
            ++p_;
            if (End()) Fail("unexpected end of input in a character class");
            Char();
          }
        }
        ++p_;
        item = true;
      } else if (c == '<' || c == '!') {
        TokenRef();
        item = true;
      } else if (Word(c)) {
        const size_t at = p_;
        used_.insert({Name(), at});
        item = true;
      } else if (c == '(') {
        ++p_;
        Space(true);
        Alternates(true);
        if (At() != ')') Fail("expecting ')'");
        ++p_;
        item = true;
      } else if (c == '.') {
        ++p_;
        item = true;
      } else if (c == '*' || c == '+' || c == '?') {
        Repeat(item);
        ++p_;
      } else if (c == '{') {
        Repeat(item);
        ++p_;
        Space(nested);
        if (!Digit(At())) Fail("expecting an integer after '{'");
        if (Int() > kMaxRepetitions) Fail("more than 2000 repetitions");
        Space(nested);
        if (At() == ',') {
          ++p_;
          Space(nested);
          if (Digit(At())) Int();
          Space(nested);
        }
        if (At() != '}') Fail("expecting '}'");
        ++p_;
      } else {
        break;
      }
      Space(nested);
    }
  }
  void Alternates(bool nested) {
    Sequence(nested);
    while (At() == '|') {
      ++p_;
      Space(true);
      Sequence(nested);
    }
  }
  void Rule() {
    defined_.insert(Name());
    Space(false);
    if (s_.substr(p_, 3) != "::=") Fail("expecting '::='");
    p_ += 3;
    Space(true);
    Alternates(false);
    if (At() == '\r') {
      p_ += At(1) == '\n' ? 2 : 1;
    } else if (At() == '\n') {
      ++p_;
    } else if (!End()) {
      Fail("expecting a newline or the end");
    }
    Space(true);
  }

  std::string_view s_;
  size_t p_ = 0;
  std::set<std::string> defined_;
  std::set<std::pair<std::string, size_t>> used_;
  std::vector<Token> tokens_;
};

void LineColumn(std::string_view s, size_t pos, size_t& line, size_t& col) {
  line = 1;
  col = 1;
  for (size_t i = 0; i < pos && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
}

std::string Where(std::string_view s, size_t pos) {
  size_t line = 0;
  size_t col = 0;
  LineColumn(s, pos, line, col);
  return " at line " + std::to_string(line) + " column " + std::to_string(col);
}

}  // namespace

Status CheckGbnfSyntax(std::string_view gbnf, const char* field) {
  std::vector<GbnfTokenRef> tokens;
  return CheckGbnfSyntax(gbnf, field, tokens);
}

Status CheckGbnfSyntax(std::string_view gbnf, const char* field,
                       std::vector<GbnfTokenRef>& tokens) {
  const std::string prefix = std::string(field) + " is invalid: ";
  if (gbnf.find('\0') != std::string_view::npos) {
    return Status::InvalidRequest(prefix + "it contains a NUL character");
  }
  Reader r(gbnf);
  try {
    r.Grammar();
  } catch (const SyntaxError& e) {
    return Status::InvalidRequest(prefix + e.what + Where(gbnf, e.pos));
  }
  for (const auto& [name, pos] : r.used()) {
    if (r.defined().count(name) == 0) {
      return Status::InvalidRequest(prefix + "rule '" + name + "' is not defined" +
                                    Where(gbnf, pos));
    }
  }
  if (r.defined().count("root") == 0) {
    return Status::InvalidRequest(prefix + "it has no 'root' rule");
  }
  for (const auto& t : r.tokens()) {
    GbnfTokenRef ref{t.text, t.id, 0, 0};
    LineColumn(gbnf, t.pos, ref.line, ref.column);
    tokens.push_back(std::move(ref));
  }
  return Status::Ok();
}

}  // namespace modeld::llm
