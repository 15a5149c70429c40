#include "internal/httpapi/embeddings_request.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(EmbeddingsRequestTest, AcceptsEveryInputShapeOpenAiDoes) {
  Result<EmbeddingsCall> one = ParseEmbeddingsRequest(R"({"model":"m","input":"hi"})");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->model, "m");
  ASSERT_EQ(one->inputs.size(), 1u);
  EXPECT_EQ(one->inputs[0].text, "hi");
  EXPECT_FALSE(one->inputs[0].tokens.has_value());
  EXPECT_FALSE(one->base64);

  Result<EmbeddingsCall> many =
      ParseEmbeddingsRequest(R"({"input":["a",[1,2],"c"],"encoding_format":"base64"})");
  ASSERT_TRUE(many.ok()) << many.status().message();
  ASSERT_EQ(many->inputs.size(), 3u);
  EXPECT_EQ(many->inputs[0].text, "a");
  EXPECT_EQ(many->inputs[1].tokens, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(many->inputs[2].text, "c");
  EXPECT_TRUE(many->base64);

  Result<EmbeddingsCall> tokens = ParseEmbeddingsRequest(R"({"input":[5,6,7],"user":"u"})");
  ASSERT_TRUE(tokens.ok()) << tokens.status().message();
  ASSERT_EQ(tokens->inputs.size(), 1u);
  EXPECT_EQ(tokens->inputs[0].tokens, (std::vector<int32_t>{5, 6, 7}));
}

TEST(EmbeddingsRequestTest, RefusesWhatCannotBeEmbedded) {
  const struct {
    const char* body;
    Code code;
    const char* says;
  } cases[] = {
      {R"({})", Code::kInvalidRequest, "'input' is required"},
      {R"({"input":null})", Code::kInvalidRequest, "'input' is required"},
      {R"({"input":""})", Code::kInvalidRequest, "empty string"},
      {R"({"input":[]})", Code::kInvalidRequest, "must not be empty"},
      {R"({"input":["a",""]})", Code::kInvalidRequest, "empty string"},
      {R"({"input":[[]]})", Code::kInvalidRequest, "empty array"},
      {R"({"input":[1,-2]})", Code::kInvalidRequest, "token ids"},
      {R"({"input":[1.5]})", Code::kInvalidRequest, "token ids"},
      {R"({"input":[1,"a"]})", Code::kInvalidRequest, "token ids"},
      {R"({"input":[{"a":1}]})", Code::kInvalidRequest, "token ids"},
      {R"({"input":7})", Code::kInvalidRequest, "a string or an array"},
      {R"({"input":"a","encoding_format":"int8"})", Code::kInvalidRequest, "encoding_format"},
      {R"({"input":"a","encoding_format":1})", Code::kInvalidRequest, "encoding_format"},
      {R"({"input":"a","model":3})", Code::kInvalidRequest, "model"},
      {R"({"input":"a","dimensions":8})", Code::kUnsupportedParameter, "dimensions"},
      {R"([1])", Code::kInvalidRequest, "JSON object"},
      {R"(not json)", Code::kInvalidRequest, "not valid JSON"},
  };
  for (const auto& c : cases) {
    Result<EmbeddingsCall> r = ParseEmbeddingsRequest(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), c.code) << c.body;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.body << " -> " << r.status().message();
  }
}

TEST(EmbeddingsRequestTest, LimitsTheNumberOfInputs) {
  std::string body = R"({"input":[)";
  for (size_t i = 0; i <= kMaxEmbeddingInputs; ++i) body += i ? R"(,"x")" : R"("x")";
  body += "]}";
  Result<EmbeddingsCall> r = ParseEmbeddingsRequest(body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at most 2048"), std::string::npos);
}

}  // namespace
}  // namespace modeld::httpapi
