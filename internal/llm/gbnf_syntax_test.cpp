#include "internal/llm/gbnf_syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace modeld::llm {
namespace {

TEST(GbnfSyntaxTest, AcceptsWhatLlamaCppsGrammarsUse) {
  const char* ok[] = {
      "root ::= \"yes\" | \"no\"",
      "root ::= [a-z]+ ws\nws ::= [ \\t\\n]*  # comment\n",
      "root ::= (\"a\" | [^\"\\\\] | \"\\x41\\u00e9\\U0001F600\")* \".\"",
      "root ::= item{2,5} item{3} item{1,}\nitem ::= [0-9]",
      "root ::= <[12]> !<[3]> . \"é\"",
      "# leading comment\r\nroot ::= (\n  \"x\"\n  | \"y\"\n)?\r\n",
  };
  for (const char* g : ok) EXPECT_TRUE(CheckGbnfSyntax(g, "grammar").ok()) << g;
}

TEST(GbnfSyntaxTest, NamesTheProblemAndWhereItIs) {
  struct Case {
    const char* grammar;
    const char* want;
  } cases[] = {
      {"root ::= (\"yes\"", "expecting ')' at line 1 column 16"},
      {"root := \"a\"", "expecting '::=' at line 1 column 6"},
      {"root ::= \"a\"\nb", "expecting '::='"},
      {"root ::= \"abc", "unexpected end of input in a literal"},
      {"root ::= [a-", "unexpected end of input in a character class"},
      {"root ::= \"\\q\"", "unknown escape at line 1 column 11"},
      {"root ::= * \"a\"", "expecting an item before"},
      {"root ::= \"a\"{x}", "expecting an integer after '{'"},
      {"root ::= \"a\"{5000}", "more than 2000 repetitions"},
      {"root ::= \"a\" )", "expecting a newline or the end"},
      {"root ::= missing", "rule 'missing' is not defined at line 1 column 10"},
      {"answer ::= \"yes\"", "no 'root' rule"},
      {"root ::= <abc", "expecting '>'"},
  };
  for (const auto& c : cases) {
    const Status st = CheckGbnfSyntax(c.grammar, "grammar");
    ASSERT_FALSE(st.ok()) << c.grammar;
    EXPECT_EQ(st.code(), Code::kInvalidRequest);
    EXPECT_NE(st.message().find("grammar is invalid: "), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(c.want), std::string::npos) << c.grammar << " -> " << st.message();
  }
  EXPECT_FALSE(CheckGbnfSyntax(std::string("root ::= \"a\"\0", 13), "grammar").ok());
}

}  // namespace
}  // namespace modeld::llm
