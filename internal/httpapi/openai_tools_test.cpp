#include "internal/httpapi/openai_tools.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

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
  EXPECT_EQ(t.tools[1].parameters, json({{"type", "object"}}));
}

TEST(OpenAiToolsTest, NoneTurnsToolsOff) {
  json body = json::parse(kTwoTools);
  body["tool_choice"] = "none";
  ToolRequest t;
  ASSERT_TRUE(ReadTools(body, t).ok());
  EXPECT_FALSE(t.active());
}

TEST(OpenAiToolsTest, RequiredSchemaHasOnlyCalls) {
  json body = json::parse(kTwoTools);
  body["tool_choice"] = "required";
  ToolRequest t;
  ASSERT_TRUE(ReadTools(body, t).ok());
  const json s = json::parse(ToolReplySchema(t));
  EXPECT_EQ(s["required"], json::array({"tool_calls"}));
  EXPECT_EQ(s["properties"]["tool_calls"]["items"]["anyOf"].size(), 2u);
  EXPECT_FALSE(s["properties"]["tool_calls"].contains("maxItems"));
  EXPECT_EQ(ToolSystemPrompt(t).find("\"response\""), std::string::npos);
}

TEST(OpenAiToolsTest, AutoSchemaAllowsAPlainResponse) {
  const ToolRequest t = Read(kTwoTools);
  const json s = json::parse(ToolReplySchema(t));
  ASSERT_EQ(s["anyOf"].size(), 2u);
  EXPECT_EQ(s["anyOf"][1]["required"], json::array({"response"}));
  EXPECT_NE(ToolSystemPrompt(t).find("\"response\""), std::string::npos);
}

TEST(OpenAiToolsTest, ParsesCallsAndResponses) {
  ParsedToolReply calls;
  ASSERT_TRUE(ParseToolReply(R"({"tool_calls":[{"name":"a","arguments":{"x":3}},
                                               {"name":"b","arguments":{}}]})",
                             calls));
  ASSERT_EQ(calls.calls.size(), 2u);
  EXPECT_EQ(calls.calls[0].name, "a");
  EXPECT_EQ(calls.calls[0].arguments, R"({"x":3})");
  EXPECT_EQ(calls.calls[0].id.rfind("call_", 0), 0u);
  EXPECT_NE(calls.calls[0].id, calls.calls[1].id);
  ParsedToolReply text;
  ASSERT_TRUE(ParseToolReply(R"({"response":"hi"})", text));
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "hi");
  ParsedToolReply cut;
  EXPECT_FALSE(ParseToolReply(R"({"tool_calls":[{"name":"a","argu)", cut));
}

TEST(OpenAiToolsTest, HistoryCallsUseTheReplyFormat) {
  std::string text;
  ASSERT_TRUE(ToolCallsAsText(json::parse(R"([{"id":"c","type":"function",
      "function":{"name":"a","arguments":"{\"x\":1}"}}])"),
                              "m", text)
                  .ok());
  EXPECT_EQ(text, R"({"tool_calls":[{"name":"a","arguments":{"x":1}}]})");
  EXPECT_FALSE(ToolCallsAsText(json::parse("[1]"), "m", text).ok());
}

}  // namespace
}  // namespace modeld::httpapi
