#include "internal/httpapi/infer_request.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(InferRequestTest, DefaultsWhenOnlyPromptIsGiven) {
  auto call = ParseInferRequest(R"({"prompt":"hi","whatever":{"ignored":true}})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->params.prompt, "hi");
  EXPECT_TRUE(call->model.empty());
  EXPECT_TRUE(call->stream);
  EXPECT_EQ(call->params.max_tokens, 256);
  EXPECT_TRUE(call->params.stop.empty());
}

TEST(InferRequestTest, ReadsEveryField) {
  auto call = ParseInferRequest(
      R"({"prompt":"p","model":"tiny","stream":false,"max_tokens":7,"temperature":0,
          "top_p":0.5,"top_k":3,"min_p":0.1,"seed":42,"stop":["a","bc"]})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->model, "tiny");
  EXPECT_FALSE(call->stream);
  EXPECT_EQ(call->params.max_tokens, 7);
  EXPECT_EQ(call->params.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(call->params.sampling.top_p, 0.5f);
  EXPECT_EQ(call->params.sampling.top_k, 3);
  EXPECT_FLOAT_EQ(call->params.sampling.min_p, 0.1f);
  EXPECT_EQ(call->params.sampling.seed, 42u);
  EXPECT_EQ(call->params.stop, (std::vector<std::string>{"a", "bc"}));
}

TEST(InferRequestTest, StopMayBeASingleString) {
  auto call = ParseInferRequest(R"({"prompt":"p","stop":"END"})");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->params.stop, (std::vector<std::string>{"END"}));
}

TEST(InferRequestTest, RejectsBadInputNamingTheField) {
  struct Case {
    const char* body;
    const char* mentions;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"{\"prompt\":", "not valid JSON"},
      {"[1,2]", "JSON object"},
      {"{}", "'prompt' is required"},
      {R"({"prompt":""})", "'prompt'"},
      {R"({"prompt":5})", "'prompt'"},
      {R"({"prompt":"p","model":3})", "'model'"},
      {R"({"prompt":"p","stream":"yes"})", "'stream'"},
      {R"({"prompt":"p","max_tokens":0})", "'max_tokens'"},
      {R"({"prompt":"p","max_tokens":1.5})", "'max_tokens'"},
      {R"({"prompt":"p","max_tokens":"9"})", "'max_tokens'"},
      {R"({"prompt":"p","temperature":-1})", "'temperature'"},
      {R"({"prompt":"p","temperature":2.5})", "'temperature'"},
      {R"({"prompt":"p","top_p":1.5})", "'top_p'"},
      {R"({"prompt":"p","top_k":-1})", "'top_k'"},
      {R"({"prompt":"p","min_p":"x"})", "'min_p'"},
      {R"({"prompt":"p","seed":-3})", "'seed'"},
      {R"({"prompt":"p","seed":99999999999})", "'seed'"},
      {R"({"prompt":"p","stop":[1]})", "'stop'"},
      {R"({"prompt":"p","stop":[""]})", "'stop'"},
      {R"({"prompt":"p","stop":{"a":1}})", "'stop'"},
  };
  for (const auto& c : cases) {
    auto call = ParseInferRequest(c.body);
    ASSERT_FALSE(call.ok()) << c.body;
    EXPECT_EQ(call.status().code(), Code::kInvalidRequest) << c.body;
    EXPECT_NE(call.status().message().find(c.mentions), std::string::npos)
        << c.body << " -> " << call.status().message();
  }
}

TEST(InferRequestTest, RecordsWhetherMaxTokensWasGiven) {
  auto given = ParseInferRequest(R"({"prompt":"p","max_tokens":300})");
  ASSERT_TRUE(given.ok());
  EXPECT_TRUE(given->max_tokens_given);
  auto omitted = ParseInferRequest(R"({"prompt":"p"})");
  ASSERT_TRUE(omitted.ok());
  EXPECT_FALSE(omitted->max_tokens_given);
  EXPECT_EQ(omitted->params.max_tokens, 256);
}

}  // namespace
}  // namespace modeld::httpapi
