#include "internal/httpapi/openai_tools.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

using llm::ToolChoice;
using llm::ToolRequest;
using nlohmann::json;

ToolRequest Read(const char* body) {
  ToolRequest t;
  const Status st = ReadTools(json::parse(body), t);
  EXPECT_TRUE(st.ok()) << st.message();
  return t;
}

constexpr const char* kTwoTools = R"({"tools":[
  {"type":"function","function":{"name":"a","parameters":{"type":"object",
    "properties":{"x":{"type":"integer"}},"required":["x"]}}},
  {"type":"function","function":{"name":"b"}}]})";

TEST(OpenAiToolsTest, ChoiceDefaultsLikeOpenAi) {
  EXPECT_EQ(Read("{}").choice, ToolChoice::kNone);
  EXPECT_FALSE(Read("{}").active());
  const ToolRequest t = Read(kTwoTools);
  EXPECT_EQ(t.choice, ToolChoice::kAuto);
  EXPECT_TRUE(t.parallel);
  ASSERT_EQ(t.tools.size(), 2u);
  EXPECT_EQ(json::parse(t.tools[0].parameters)["required"], json::array({"x"}));
  EXPECT_EQ(json::parse(t.tools[1].parameters), json({{"type", "object"}}));
}

TEST(OpenAiToolsTest, NoneTurnsToolsOff) {
  json body = json::parse(kTwoTools);
  body["tool_choice"] = "none";
  ToolRequest t;
  ASSERT_TRUE(ReadTools(body, t).ok());
  EXPECT_FALSE(t.active());
}

TEST(OpenAiToolsTest, NamedChoiceKeepsOnlyThatToolRequired) {
  json body = json::parse(kTwoTools);
  body["tool_choice"] = {{"type", "function"}, {"function", {{"name", "b"}}}};
  body["parallel_tool_calls"] = false;
  ToolRequest t;
  ASSERT_TRUE(ReadTools(body, t).ok());
  EXPECT_EQ(t.choice, ToolChoice::kRequired);
  ASSERT_EQ(t.tools.size(), 1u);
  EXPECT_EQ(t.tools[0].name, "b");
  EXPECT_FALSE(t.parallel);
  body["tool_choice"]["function"]["name"] = "c";
  EXPECT_EQ(ReadTools(body, t).code(), Code::kInvalidRequest);
}

TEST(OpenAiToolsTest, HistoryCallsKeepTheirArgumentsText) {
  std::vector<llm::ToolCall> calls;
  ASSERT_TRUE(ReadToolCalls(json::parse(R"([{"id":"c","type":"function",
      "function":{"name":"a","arguments":"{\"x\":1}"}},
      {"type":"function","function":{"name":"b","arguments":{"y":2}}}])"),
                            "m", calls)
                  .ok());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, "c");
  EXPECT_EQ(calls[0].name, "a");
  EXPECT_EQ(calls[0].arguments, R"({"x":1})");
  EXPECT_EQ(calls[1].id, "");
  EXPECT_EQ(calls[1].arguments, R"({"y":2})");
  std::vector<llm::ToolCall> bad;
  const Status st = ReadToolCalls(json::parse("[1]"), "m", bad);
  EXPECT_EQ(st.code(), Code::kInvalidRequest);
  EXPECT_NE(st.message().find("m[0].function"), std::string::npos) << st.message();
}

TEST(OpenAiToolsTest, CallIdsAreOpenAiShapedAndDistinct) {
  const std::string a = NewCallId();
  EXPECT_EQ(a.rfind("call_", 0), 0u);
  EXPECT_EQ(a.size(), 29u);
  EXPECT_NE(a, NewCallId());
}

}  // namespace
}  // namespace modeld::httpapi
