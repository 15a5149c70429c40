#include "internal/llm/output_grammar.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "internal/llm/llama_backend.h"
#include "internal/llm/llama_test_util.h"

// Constrained output on the tiny model: random weights, so only the grammar
// makes the text valid. Schemas are bounded (enums, small integer ranges,
// maxLength) so that every run completes within max_tokens.

namespace modeld::llm {
namespace {

using testutil::Generate;
using testutil::LoadOrFail;
using testutil::Outcome;
using testutil::TinyModelPath;

constexpr const char* kBoundedSchema = R"({
  "type": "object",
  "properties": {
    "color": {"type": "string", "enum": ["red", "green", "blue"]},
    "count": {"type": "integer", "minimum": 0, "maximum": 9},
    "ok": {"type": "boolean"}
  },
  "required": ["color", "count", "ok"],
  "additionalProperties": false
})";

class OutputGrammarTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vocab_model_ = testutil::LoadTinyVocab(); }
  static void TearDownTestSuite() { vocab_model_.reset(); }
  void SetUp() override { ASSERT_NE(vocab_model_, nullptr); }
  static const llama_vocab* Vocab() { return llama_model_get_vocab(vocab_model_.get()); }

  static testutil::VocabModel vocab_model_;
};
testutil::VocabModel OutputGrammarTest::vocab_model_;

TEST_F(OutputGrammarTest, SchemaBecomesAGrammarTheVocabularyAccepts) {
  GenerateParams p;
  p.json_schema = kBoundedSchema;
  Result<std::string> g = OutputGrammar(p);
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_NE(g->find("root ::="), std::string::npos) << *g;
  EXPECT_TRUE(CheckGrammar(Vocab(), *g, "json_schema").ok());
}

TEST_F(OutputGrammarTest, FreeTextHasNoGrammar) {
  Result<std::string> g = OutputGrammar(GenerateParams{});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->empty());
}

TEST_F(OutputGrammarTest, InvalidSchemasAreRequestErrorsNamingTheField) {
  for (const char* schema : {"{not json", "[1,2]", R"({"$ref": "#/definitions/missing"})"}) {
    GenerateParams p;
    p.json_schema = schema;
    Result<std::string> g = OutputGrammar(p);
    ASSERT_FALSE(g.ok()) << schema;
    EXPECT_EQ(g.status().code(), Code::kInvalidRequest) << schema;
    EXPECT_NE(g.status().message().find("json_schema"), std::string::npos) << g.status().message();
  }
}

TEST_F(OutputGrammarTest, InvalidGrammarsAreRequestErrorsSayingWhy) {
  const Status missing_root = CheckGrammar(Vocab(), "answer ::= \"yes\"", "grammar");
  EXPECT_EQ(missing_root.code(), Code::kInvalidRequest);
  EXPECT_NE(missing_root.message().find("root"), std::string::npos) << missing_root.message();
  const Status syntax = CheckGrammar(Vocab(), "root ::= (\"yes\"", "grammar");
  EXPECT_EQ(syntax.code(), Code::kInvalidRequest);
  EXPECT_NE(syntax.message().find("grammar is invalid"), std::string::npos) << syntax.message();
  const Status undefined = CheckGrammar(Vocab(), "root ::= missing", "grammar");
  EXPECT_EQ(undefined.code(), Code::kInvalidRequest);
  EXPECT_TRUE(CheckGrammar(Vocab(), "root ::= \"yes\" | \"no\"", "grammar").ok());
}

TEST_F(OutputGrammarTest, TokenReferencesAreCheckedAgainstTheVocabulary) {
  EXPECT_TRUE(CheckGrammar(Vocab(), "root ::= <|im_end|> | <[5]>", "grammar").ok());
  const Status unknown = CheckGrammar(Vocab(), "root ::= <no-such-token>", "grammar");
  EXPECT_EQ(unknown.code(), Code::kInvalidRequest);
  EXPECT_NE(unknown.message().find("<no-such-token> is not one token"), std::string::npos)
      << unknown.message();
  const Status id = CheckGrammar(Vocab(), "root ::= <[99999999]>", "grammar");
  EXPECT_EQ(id.code(), Code::kInvalidRequest);
  EXPECT_NE(id.message().find("not in the vocabulary"), std::string::npos) << id.message();
}

TEST(OutputGrammarGenerateTest, SchemaOutputParsesAndValidatesGreedyAndSampled) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  for (float temperature : {0.0f, 1.0f}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      GenerateParams p;
      p.messages = std::vector<ChatMessage>{{"user", "pick a color"}};
      p.max_tokens = 200;
      p.sampling.temperature = temperature;
      p.sampling.seed = seed;
      p.json_schema = kBoundedSchema;
      const Outcome o = Generate(*model, p);
      ASSERT_TRUE(o.status.ok()) << o.status.message();
      EXPECT_EQ(o.stats.finish, FinishReason::kStop) << o.text;
      const auto j = nlohmann::json::parse(o.text, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(j.is_object()) << o.text;
      EXPECT_EQ(j.size(), 3u) << o.text;
      ASSERT_TRUE(j["color"].is_string()) << o.text;
      const std::string color = j["color"];
      EXPECT_TRUE(color == "red" || color == "green" || color == "blue") << o.text;
      ASSERT_TRUE(j["count"].is_number_integer()) << o.text;
      EXPECT_GE(j["count"].get<int>(), 0);
      EXPECT_LE(j["count"].get<int>(), 9);
      EXPECT_TRUE(j["ok"].is_boolean()) << o.text;
      if (temperature == 0.0f) break;  // greedy: one seed is enough
    }
  }
}

TEST(OutputGrammarGenerateTest, RawGrammarIsFollowed) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams p = testutil::Greedy(testutil::kPrompt, 50);
  p.grammar = "root ::= (\"yes\" | \"no\") \"!\"";
  const Outcome o = Generate(*model, p);
  ASSERT_TRUE(o.status.ok()) << o.status.message();
  EXPECT_TRUE(o.text == "yes!" || o.text == "no!") << o.text;
  EXPECT_EQ(o.stats.finish, FinishReason::kStop);
}

TEST(OutputGrammarGenerateTest, ConstrainedOutputCutByMaxTokensEndsWithLength) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams p = testutil::Greedy(testutil::kPrompt, 3);
  p.json_schema = R"({"type":"object","properties":{"text":{"type":"string","minLength":50}},
                      "required":["text"]})";
  const Outcome o = Generate(*model, p);
  ASSERT_TRUE(o.status.ok()) << o.status.message();
  EXPECT_EQ(o.stats.finish, FinishReason::kLength);
  EXPECT_EQ(o.stats.completion_tokens, 3);
}

TEST(OutputGrammarGenerateTest, PrepareRefusesAnInvalidGrammar) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams p = testutil::Greedy(testutil::kPrompt, 5);
  p.grammar = "root ::= [";
  Result<PreparedPrompt> prepared = model->Prepare(p);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), Code::kInvalidRequest);
}

}  // namespace
}  // namespace modeld::llm
