#include "internal/llm/tool_generic.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace modeld::llm {
namespace {

using nlohmann::json;

ToolRequest TwoTools(ToolChoice choice) {
  ToolRequest t;
  t.tools.push_back({"a", "adds", R"({"type":"object","properties":{"x":{"type":"integer"}}})"});
  t.tools.push_back({"b", "", R"({"type":"object"})"});
  t.choice = choice;
  return t;
}

TEST(ToolGenericTest, RequiredSchemaHasOnlyCalls) {
  const ToolRequest t = TwoTools(ToolChoice::kRequired);
  const json s = json::parse(GenericToolSchema(t));
  EXPECT_EQ(s["required"], json::array({"tool_calls"}));
  EXPECT_EQ(s["properties"]["tool_calls"]["items"]["anyOf"].size(), 2u);
  EXPECT_FALSE(s["properties"]["tool_calls"].contains("maxItems"));
  EXPECT_EQ(GenericToolSystemPrompt(t).find("\"response\""), std::string::npos);
}

TEST(ToolGenericTest, NoParallelCallsAllowsOneCall) {
  ToolRequest t = TwoTools(ToolChoice::kRequired);
  t.parallel = false;
  EXPECT_EQ(json::parse(GenericToolSchema(t))["properties"]["tool_calls"]["maxItems"], 1);
}

TEST(ToolGenericTest, AutoSchemaAllowsAPlainResponse) {
  const ToolRequest t = TwoTools(ToolChoice::kAuto);
  const json s = json::parse(GenericToolSchema(t));
  ASSERT_EQ(s["anyOf"].size(), 2u);
  EXPECT_EQ(s["anyOf"][1]["required"], json::array({"response"}));
  EXPECT_NE(GenericToolSystemPrompt(t).find("\"response\""), std::string::npos);
}

TEST(ToolGenericTest, MessagesGetTheToolsAndTheirCallsAsText) {
  const ToolRequest t = TwoTools(ToolChoice::kAuto);
  std::vector<ChatMessage> in = {{"system", "be brief"}, {"user", "add"}, {"assistant", ""}};
  in[2].tool_calls.push_back({"c1", "a", R"({"x":1})"});
  const std::vector<ChatMessage> out = GenericToolMessages(t, in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].content.rfind("be brief\n\nYou can call these functions:", 0), 0u);
  EXPECT_NE(out[0].content.find("adds"), std::string::npos);
  EXPECT_EQ(out[2].content, R"({"tool_calls":[{"name":"a","arguments":{"x":1}}]})");
  EXPECT_TRUE(out[2].tool_calls.empty());

  const std::vector<ChatMessage> plain = GenericToolMessages({}, {{"user", "hi"}});
  ASSERT_EQ(plain.size(), 1u);  // no tools: no system message
  EXPECT_EQ(plain[0].content, "hi");
}

TEST(ToolGenericTest, ParsesCallsAndResponses) {
  const ToolReplyParserPtr p = GenericToolParser();
  EXPECT_EQ(p->format(), "generic");
  ToolReply calls;
  ASSERT_TRUE(p->Parse(R"({"tool_calls":[{"name":"a","arguments":{"z":3,"y":1}},
                                         {"name":"b","arguments":{}}]})",
                       calls));
  ASSERT_EQ(calls.calls.size(), 2u);
  EXPECT_EQ(calls.calls[0].name, "a");
  EXPECT_EQ(calls.calls[0].arguments, R"({"z":3,"y":1})");  // the model's order kept
  EXPECT_TRUE(calls.calls[0].id.empty());
  ToolReply text;
  ASSERT_TRUE(p->Parse(R"({"response":"hi"})", text));
  EXPECT_TRUE(text.calls.empty());
  EXPECT_EQ(text.content, "hi");
  ToolReply cut;
  EXPECT_FALSE(p->Parse(R"({"tool_calls":[{"name":"a","argu)", cut));
}

}  // namespace
}  // namespace modeld::llm
