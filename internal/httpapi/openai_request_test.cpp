#include "internal/httpapi/openai_request.h"

#include <gtest/gtest.h>

#include "internal/httpapi/infer_request.h"

namespace modeld::httpapi {
namespace {

constexpr const char* kHello = R"("messages":[{"role":"user","content":"hello"}])";

std::string Chat(const std::string& extra = "") {
  return std::string("{") + kHello + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(OpenAiRequestTest, ChatDefaultsFollowOpenAi) {
  auto call = ParseChatRequest(Chat(R"("user":"u-1","store":false,"metadata":{"a":"b"})"));
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->kind, OpenAiKind::kChat);
  EXPECT_TRUE(call->model.empty());
  EXPECT_FALSE(call->stream);
  EXPECT_FALSE(call->include_usage);
  const auto& p = call->params;
  ASSERT_TRUE(p.messages.has_value());
  ASSERT_EQ(p.messages->size(), 1u);
  EXPECT_EQ((*p.messages)[0].role, "user");
  EXPECT_EQ((*p.messages)[0].content, "hello");
  EXPECT_TRUE(p.prompt.empty());
  EXPECT_EQ(p.max_tokens, kMaxTokensLimit);
  EXPECT_EQ(p.sampling.temperature, 1.0f);
  EXPECT_EQ(p.sampling.top_p, 1.0f);
  EXPECT_EQ(p.sampling.top_k, 0);
  EXPECT_EQ(p.sampling.min_p, 0.0f);
  EXPECT_EQ(p.sampling.presence_penalty, 0.0f);
  EXPECT_EQ(p.sampling.frequency_penalty, 0.0f);
  EXPECT_EQ(p.sampling.seed, 0xFFFFFFFFu);
  EXPECT_TRUE(p.stop.empty());
}

TEST(OpenAiRequestTest, ChatReadsEverySupportedField) {
  auto call = ParseChatRequest(R"({
      "model":"small","stream":true,"stream_options":{"include_usage":true},
      "messages":[{"role":"system","content":"be brief"},
                  {"role":"developer","content":"really"},
                  {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
                  {"role":"assistant","content":"ok","name":"bot"}],
      "temperature":0.5,"top_p":0.9,"max_tokens":9,"max_completion_tokens":7,"stop":["x","y"],
      "seed":42,"presence_penalty":-1.5,"frequency_penalty":2,"n":1,"logprobs":false,
      "tools":[],"tool_choice":"none","response_format":{"type":"text"},"logit_bias":{},
      "modalities":["text"],"parallel_tool_calls":true})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->model, "small");
  EXPECT_TRUE(call->stream);
  EXPECT_TRUE(call->include_usage);
  const auto& p = call->params;
  const std::vector<std::pair<std::string, std::string>> want = {
      {"system", "be brief"}, {"system", "really"}, {"user", "a\nb"}, {"assistant", "ok"}};
  ASSERT_EQ(p.messages->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*p.messages)[i].role, want[i].first) << i;
    EXPECT_EQ((*p.messages)[i].content, want[i].second) << i;
  }
  EXPECT_EQ(p.max_tokens, 7);  // max_completion_tokens wins
  EXPECT_FLOAT_EQ(p.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(p.sampling.top_p, 0.9f);
  EXPECT_EQ(p.sampling.seed, 42u);
  EXPECT_FLOAT_EQ(p.sampling.presence_penalty, -1.5f);
  EXPECT_FLOAT_EQ(p.sampling.frequency_penalty, 2.0f);
  EXPECT_EQ(p.stop, (std::vector<std::string>{"x", "y"}));
}

TEST(OpenAiRequestTest, SeedIsReducedModulo32Bits) {
  struct Case {
    const char* seed;
    uint32_t want;
  };
  for (const Case& c :
       {Case{"0", 0u}, Case{"-1", 0xFFFFFFFFu}, Case{"4294967297", 1u}, Case{"-2", 0xFFFFFFFEu}}) {
    auto call = ParseChatRequest(Chat(std::string("\"seed\":") + c.seed));
    ASSERT_TRUE(call.ok()) << c.seed << ": " << call.status().message();
    EXPECT_EQ(call->params.sampling.seed, c.want) << c.seed;
  }
}

// Doubles outside what a 64-bit integer holds are refused, not converted:
// 2^63 is where LLONG_MAX rounds to, and converting it is undefined.
TEST(OpenAiRequestTest, SeedOutsideSixtyFourBitsIsRefused) {
  for (const char* seed : {"9223372036854775808.0", "1e19", "-9223372036854777856.0", "1e300"}) {
    auto call = ParseChatRequest(Chat(std::string("\"seed\":") + seed));
    EXPECT_FALSE(call.ok()) << seed;
  }
  auto edge = ParseChatRequest(Chat("\"seed\":-9223372036854775808.0"));
  EXPECT_TRUE(edge.ok()) << edge.status().message();
}

TEST(OpenAiRequestTest, CompletionDefaultsAndFields) {
  auto call = ParseCompletionRequest(R"({"prompt":"once","model":"tiny"})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->kind, OpenAiKind::kCompletion);
  EXPECT_EQ(call->params.prompt, "once");
  EXPECT_FALSE(call->params.messages.has_value());
  EXPECT_EQ(call->params.max_tokens, kOpenAiCompletionMaxTokens);
  EXPECT_EQ(call->params.sampling.temperature, 1.0f);

  call = ParseCompletionRequest(
      R"({"prompt":["only one"],"max_tokens":3,"stop":"\n","echo":false,"best_of":1,
          "logprobs":0,"suffix":"","stream":true,"temperature":0})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  EXPECT_EQ(call->params.prompt, "only one");
  EXPECT_EQ(call->params.max_tokens, 3);
  EXPECT_EQ(call->params.stop, (std::vector<std::string>{"\n"}));
  EXPECT_TRUE(call->stream);
  EXPECT_EQ(call->params.sampling.temperature, 0.0f);
}

struct BadCase {
  const char* body;
  Code code;
  const char* mentions;
};

void ExpectRejected(Result<OpenAiCall> (*parse)(std::string_view), const BadCase& c) {
  auto call = parse(c.body);
  ASSERT_FALSE(call.ok()) << c.body;
  EXPECT_EQ(call.status().code(), c.code) << c.body << " -> " << call.status().message();
  EXPECT_NE(call.status().message().find(c.mentions), std::string::npos)
      << c.body << " -> " << call.status().message();
}

TEST(OpenAiRequestTest, ChatRejectsBadInputNamingTheField) {
  constexpr Code kBad = Code::kInvalidRequest;
  constexpr Code kUns = Code::kUnsupportedParameter;
  const std::string m = kHello;
  const std::vector<std::pair<std::string, std::pair<Code, const char*>>> cases = {
      {"", {kBad, "not valid JSON"}},
      {"[]", {kBad, "JSON object"}},
      {"{}", {kBad, "'messages' is required"}},
      {R"({"messages":[]})", {kBad, "'messages'"}},
      {R"({"messages":"hi"})", {kBad, "'messages'"}},
      {R"({"messages":[1]})", {kBad, "'messages[0]'"}},
      {R"({"messages":[{"content":"x"}]})", {kBad, "'messages[0].role'"}},
      {R"({"messages":[{"role":"robot","content":"x"}]})", {kBad, "'messages[0].role'"}},
      {R"({"messages":[{"role":"function","content":"x"}]})", {kUns, "'messages[0].role'"}},
      {R"({"messages":[{"role":"user","content":"x","tool_calls":[]}]})",
       {kBad, "'messages[0].tool_calls'"}},
      {R"({"messages":[{"role":"user"}]})", {kBad, "'messages[0].content'"}},
      {R"({"messages":[{"role":"user","content":5}]})", {kBad, "'messages[0].content'"}},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
       {kUns, "'messages[0].content[0].type'"}},
      {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
       {kBad, "'messages[0].content[0].text'"}},
      {R"({"messages":[{"role":"assistant","tool_calls":[{}]}]})",
       {kBad, "'messages[0].tool_calls[0].function'"}},
      {R"({"messages":[{"role":"assistant","tool_calls":{}}]})",
       {kBad, "'messages[0].tool_calls'"}},
      {"{" + m + R"(,"model":7})", {kBad, "'model'"}},
      {"{" + m + R"(,"stream":"yes"})", {kBad, "'stream'"}},
      {"{" + m + R"(,"temperature":2.5})", {kBad, "'temperature'"}},
      {"{" + m + R"(,"top_p":-0.1})", {kBad, "'top_p'"}},
      {"{" + m + R"(,"max_tokens":0})", {kBad, "'max_tokens'"}},
      {"{" + m + R"(,"max_completion_tokens":"5"})", {kBad, "'max_completion_tokens'"}},
      {"{" + m + R"(,"presence_penalty":3})", {kBad, "'presence_penalty'"}},
      {"{" + m + R"(,"frequency_penalty":-2.1})", {kBad, "'frequency_penalty'"}},
      {"{" + m + R"(,"seed":1.5})", {kBad, "'seed'"}},
      {"{" + m + R"(,"stop":["a","b","c","d","e"]})", {kBad, "'stop'"}},
      {"{" + m + R"(,"stream_options":true})", {kBad, "'stream_options'"}},
      {"{" + m + R"(,"stream_options":{"include_usage":1}})",
       {kBad, "'stream_options.include_usage'"}},
      {"{" + m + R"(,"n":0})", {kBad, "'n'"}},
      {"{" + m + R"(,"n":2})", {kUns, "'n'"}},
      {"{" + m + R"(,"logprobs":true})", {kUns, "'logprobs'"}},
      {"{" + m + R"(,"top_logprobs":2})", {kUns, "'top_logprobs'"}},
      {"{" + m + R"(,"tools":[{"type":"function"}]})", {kBad, "'tools[0].function'"}},
      {"{" + m + R"(,"tools":{}})", {kBad, "'tools'"}},
      {"{" + m + R"(,"tools":[{"type":"function","function":{"name":"a b"}}]})",
       {kBad, "'tools[0].function.name'"}},
      {"{" + m + R"(,"tools":[{"type":"function","function":{"name":"f","parameters":1}}]})",
       {kBad, "'tools[0].function.parameters'"}},
      {"{" + m + R"(,"tool_choice":"required"})", {kBad, "'tool_choice'"}},
      {"{" + m + R"(,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"any"})",
       {kBad, "'tool_choice'"}},
      {"{" + m +
           R"(,"tools":[{"type":"function","function":{"name":"f"}}],
               "tool_choice":{"type":"function","function":{"name":"g"}}})",
       {kBad, "'tool_choice'"}},
      {"{" + m + R"(,"tools":[{"type":"function","function":{"name":"f"}}],
               "response_format":{"type":"json_object"}})",
       {kUns, "'response_format'"}},
      {"{" + m + R"(,"parallel_tool_calls":"yes"})", {kBad, "'parallel_tool_calls'"}},
      {"{" + m + R"(,"functions":[{"name":"f"}]})", {kUns, "'functions'"}},
      {"{" + m + R"(,"function_call":{"name":"f"}})", {kUns, "'function_call'"}},
      {"{" + m + R"(,"response_format":{"type":"xml"}})", {kBad, "'response_format.type'"}},
      {"{" + m + R"(,"response_format":{"type":"json_schema"}})",
       {kBad, "'response_format.json_schema'"}},
      {"{" + m + R"(,"response_format":{"type":"json_schema","json_schema":{"schema":[]}}})",
       {kBad, "'response_format.json_schema.schema'"}},
      {"{" + m + R"(,"response_format":"json"})", {kBad, "'response_format.type'"}},
      {"{" + m + R"(,"logit_bias":{"50256":-100}})", {kUns, "'logit_bias'"}},
      {"{" + m + R"(,"modalities":["text","audio"]})", {kUns, "'modalities'"}},
      {"{" + m + R"(,"audio":{"voice":"x"}})", {kUns, "'audio'"}},
  };
  for (const auto& [body, want] : cases) {
    ExpectRejected(&ParseChatRequest, {body.c_str(), want.first, want.second});
  }
}

TEST(OpenAiRequestTest, CompletionRejectsBadInputNamingTheField) {
  constexpr Code kBad = Code::kInvalidRequest;
  constexpr Code kUns = Code::kUnsupportedParameter;
  const BadCase cases[] = {
      {"{}", kBad, "'prompt' is required"},
      {R"({"prompt":""})", kBad, "'prompt'"},
      {R"({"prompt":5})", kBad, "'prompt'"},
      {R"({"prompt":[]})", kBad, "'prompt'"},
      {R"({"prompt":["a","b"]})", kUns, "'prompt'"},
      {R"({"prompt":[1,2,3]})", kUns, "'prompt'"},
      {R"({"prompt":"p","n":3})", kUns, "'n'"},
      {R"({"prompt":"p","logprobs":2})", kUns, "'logprobs'"},
      {R"({"prompt":"p","logprobs":true})", kBad, "'logprobs'"},
      {R"({"prompt":"p","echo":true})", kUns, "'echo'"},
      {R"({"prompt":"p","best_of":2})", kUns, "'best_of'"},
      {R"({"prompt":"p","suffix":"end"})", kUns, "'suffix'"},
      {R"({"prompt":"p","logit_bias":{"1":2}})", kUns, "'logit_bias'"},
      {R"({"prompt":"p","max_tokens":-1})", kBad, "'max_tokens'"},
      {R"({"prompt":"p","stop":[""]})", kBad, "'stop'"},
  };
  for (const auto& c : cases) ExpectRejected(&ParseCompletionRequest, c);
}

}  // namespace
}  // namespace modeld::httpapi

namespace modeld::httpapi {
namespace {

TEST(OpenAiRequestTest, ResponseFormatBecomesAJsonSchema) {
  const std::string m = kHello;
  auto obj = ParseChatRequest("{" + m + R"(,"response_format":{"type":"json_object"}})");
  ASSERT_TRUE(obj.ok()) << obj.status().message();
  EXPECT_EQ(obj->params.json_schema, R"({"type":"object"})");
  auto schema = ParseChatRequest("{" + m + R"(,"response_format":{"type":"json_schema",
      "json_schema":{"name":"x","strict":true,"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})");
  ASSERT_TRUE(schema.ok()) << schema.status().message();
  EXPECT_EQ(nlohmann::json::parse(schema->params.json_schema)["properties"]["a"]["type"],
            "integer");
  auto text = ParseChatRequest("{" + m + R"(,"response_format":{"type":"text"}})");
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->params.json_schema.empty());
}

TEST(OpenAiRequestTest, ForcedToolCallTravelsToTheModel) {
  auto call = ParseChatRequest(R"({"messages":[{"role":"user","content":"weather?"}],
      "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
               {"type":"function","function":{"name":"other"}}],
      "tool_choice":{"type":"function","function":{"name":"get_weather"}},
      "parallel_tool_calls":false})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  const llm::ToolRequest& tools = call->params.tools;
  EXPECT_TRUE(tools.active());
  EXPECT_EQ(tools.choice, llm::ToolChoice::kRequired);
  EXPECT_FALSE(tools.parallel);
  ASSERT_EQ(tools.tools.size(), 1u);
  EXPECT_EQ(tools.tools[0].name, "get_weather");
  EXPECT_EQ(tools.tools[0].description, "Weather now");
  EXPECT_EQ(nlohmann::json::parse(tools.tools[0].parameters)["properties"]["city"]["type"],
            "string");
  // The llm layer renders the tools (the model's template or a generic
  // format): the request itself is left as the client sent it.
  EXPECT_TRUE(call->params.json_schema.empty());
  ASSERT_EQ(call->params.messages->size(), 1u);
}

TEST(OpenAiRequestTest, ToolsWithAJsonResponseFormatAreRefused) {
  auto call = ParseChatRequest(R"({"messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],
      "response_format":{"type":"json_object"}})");
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().code(), Code::kUnsupportedParameter);
}

TEST(OpenAiRequestTest, ToolHistoryIsAccepted) {
  auto call = ParseChatRequest(R"({"messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
          "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","tool_call_id":"call_1","name":"get_weather","content":"sunny"}]})");
  ASSERT_TRUE(call.ok()) << call.status().message();
  const auto& msgs = *call->params.messages;
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[1].role, "assistant");
  EXPECT_EQ(msgs[1].content, "");
  ASSERT_EQ(msgs[1].tool_calls.size(), 1u);
  EXPECT_EQ(msgs[1].tool_calls[0].id, "call_1");
  EXPECT_EQ(msgs[1].tool_calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(msgs[1].tool_calls[0].arguments)["city"], "Paris");
  EXPECT_EQ(msgs[2].role, "tool");
  EXPECT_EQ(msgs[2].content, "sunny");
  EXPECT_EQ(msgs[2].tool_call_id, "call_1");
  EXPECT_EQ(msgs[2].name, "get_weather");
  EXPECT_FALSE(call->params.tools.active());
  EXPECT_TRUE(call->params.json_schema.empty());
}

TEST(OpenAiRequestTest, ToolMessageFieldsMustBeStrings) {
  auto call =
      ParseChatRequest(R"({"messages":[{"role":"tool","tool_call_id":7,"content":"sunny"}]})");
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.status().code(), Code::kInvalidRequest);
  EXPECT_NE(call.status().message().find("messages[0].tool_call_id"), std::string::npos)
      << call.status().message();
}

}  // namespace
}  // namespace modeld::httpapi
