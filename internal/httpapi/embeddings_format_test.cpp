#include "internal/httpapi/embeddings_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace modeld::httpapi {
namespace {

manager::Outcome TwoVectors() {
  manager::Outcome o;
  o.model = "embed";
  o.stats.n_embd = 2;
  o.stats.embeddings = {0.6f, 0.8f, 1.0f, 0.0f};
  o.stats.prompt_tokens = 7;
  return o;
}

TEST(EmbeddingsFormatTest, OpenAiListWithUsage) {
  EmbeddingsFormat f(EmbeddingsFormat::Kind::kOpenAi, false);
  const auto j = nlohmann::json::parse(f.CompleteBody(TwoVectors(), ""));
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "embed");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["object"], "embedding");
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_EQ(j["data"][0]["embedding"], nlohmann::json::parse("[0.6,0.8]"));
  EXPECT_EQ(j["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(j["usage"]["total_tokens"], 7);
}

TEST(EmbeddingsFormatTest, Base64CarriesTheFloatBytes) {
  EmbeddingsFormat f(EmbeddingsFormat::Kind::kOpenAi, true);
  const auto j = nlohmann::json::parse(f.CompleteBody(TwoVectors(), ""));
  EXPECT_EQ(j["data"][1]["embedding"], "AACAPwAAAAA=");  // 1.0f, 0.0f
}

TEST(EmbeddingsFormatTest, NativeShapeAndErrors) {
  EmbeddingsFormat f(EmbeddingsFormat::Kind::kNative, false);
  const auto j = nlohmann::json::parse(f.CompleteBody(TwoVectors(), ""));
  EXPECT_EQ(j["model"], "embed");
  ASSERT_EQ(j["embeddings"].size(), 2u);
  EXPECT_EQ(j["embeddings"][1], nlohmann::json::parse("[1,0]"));
  EXPECT_EQ(j["usage"]["prompt_tokens"], 7);
  EXPECT_TRUE(j["timings"].contains("prompt_ms"));
  const auto native = nlohmann::json::parse(f.ErrorBody(Status::InvalidRequest("bad")));
  EXPECT_EQ(native["error"]["code"], "invalid_request");
  EmbeddingsFormat o(EmbeddingsFormat::Kind::kOpenAi, false);
  const auto openai = nlohmann::json::parse(o.ErrorBody(Status::InvalidRequest("bad")));
  EXPECT_EQ(openai["error"]["message"], "bad");
  EXPECT_TRUE(openai["error"].contains("type"));
}

}  // namespace
}  // namespace modeld::httpapi
