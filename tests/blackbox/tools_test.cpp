// Tool calling through a model's own chat template: a registry entry whose
// chat_template has native tool markup (Hermes style) gets the tools in
// that markup and its calls parsed back by llama.cpp's common library; the
// tiny model's ChatML template falls back to the generic JSON format. The
// weights are random, so only the grammar makes a forced call well-formed.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/blackbox/event_parser.h"
#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

// A Hermes-style template with native tool markup (shared with the llm unit test).
std::string HermesTemplate() {
  std::ifstream in(std::string(MODELD_SOURCE_DIR) + "/tests/data/hermes_tools.jinja");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
const std::string kHermes = HermesTemplate();

class ToolsTest : public BlackboxTest {
 protected:
  Server* Start() {
    std::vector<ModelEntry> models = StandardModels();
    models.push_back({"hermes", ModelFile("tiny.gguf"), "f16",
                      "    chat_template: " + json(kHermes).dump() + "\n"});
    ServerOptions options;
    options.extra_args = {"--log-level", "debug"};
    return StartServer(ConfigYaml("hermes", models), options, "hermes");
  }
};

json ForcedCall(const std::string& model, bool stream, int seed) {
  const json weather = {
      {"type", "function"},
      {"function",
       {{"name", "get_weather"},
        {"description", "Current weather in a city"},
        {"parameters",
         {{"type", "object"},
          {"properties",
           {{"city", {{"type", "string"}, {"enum", {"Paris", "Oslo", "Lima"}}}},
            {"celsius", {{"type", "integer"}, {"minimum", -30}, {"maximum", 45}}}}},
          {"required", {"city", "celsius"}},
          {"additionalProperties", false}}}}}};
  const json other = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
  return {{"model", model},
          {"messages", json::array({{{"role", "user"}, {"content", "Weather in Lima?"}}})},
          {"tools", json::array({weather, other})},
          {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
          {"parallel_tool_calls", false},
          {"max_tokens", 200},
          {"temperature", 1},
          {"seed", seed},
          {"stream", stream}};
}

void ExpectWeatherCall(const json& call) {
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u) << call.dump();
  EXPECT_EQ(call["function"]["name"], "get_weather");
  const json args = json::parse(call["function"]["arguments"].get<std::string>());
  EXPECT_TRUE(args["city"] == "Paris" || args["city"] == "Oslo" || args["city"] == "Lima")
      << args.dump();
  ASSERT_TRUE(args["celsius"].is_number_integer()) << args.dump();
  EXPECT_GE(args["celsius"].get<int>(), -30);
  EXPECT_LE(args["celsius"].get<int>(), 45);
}

// Every debug line PromptBuilder wrote for `model`'s requests with tools
// (the check before a switch writes one too) names `format`.
void ExpectFormat(const Server& s, const std::string& model, const std::string& format) {
  int seen = 0;
  for (const json& line : s.LogsWithMsg("tools")) {
    if (line.value("model", "") != model) continue;
    ++seen;
    EXPECT_EQ(line.value("format", ""), format) << line.dump();
  }
  EXPECT_GT(seen, 0) << "no 'tools' line for " << model;
}

TEST_F(ToolsTest, ForcedNamedCallThroughTheTemplatesMarkupComesBackAsToolCalls) {
  Server* s = Start();
  ASSERT_NE(s, nullptr);
  for (int seed : {1, 2, 3}) {
    const HttpResponse r =
        PostJson(s->port(), "/v1/chat/completions", ForcedCall("hermes", false, seed));
    ASSERT_EQ(r.status, 200) << r.body;
    const json choice = json::parse(r.body)["choices"][0];
    ASSERT_EQ(choice["finish_reason"], "tool_calls") << r.body;
    EXPECT_TRUE(choice["message"]["content"].is_null()) << r.body;
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << r.body;
    ExpectWeatherCall(choice["message"]["tool_calls"][0]);
  }
  ExpectFormat(*s, "hermes", "native");
}

TEST_F(ToolsTest, StreamedForcedCallThroughTheTemplatesMarkupArrivesAsDeltaToolCalls) {
  Server* s = Start();
  ASSERT_NE(s, nullptr);
  const HttpResponse r = PostJson(s->port(), "/v1/chat/completions", ForcedCall("hermes", true, 4));
  ASSERT_EQ(r.status, 200) << r.body;
  EventParser parser(StreamFormat::kSse);
  std::vector<json> chunks;
  bool done = false;
  for (const Event& e : parser.Feed(r.body)) {
    if (e.raw == "[DONE]") {
      done = true;
      continue;
    }
    ASSERT_TRUE(e.json_ok()) << e.raw;
    chunks.push_back(e.data);
  }
  EXPECT_TRUE(done) << r.body;
  std::vector<json> calls;
  std::string finish;
  for (const json& c : chunks) {
    const json& choice = c["choices"][0];
    if (choice["delta"].contains("tool_calls")) {
      for (const json& tc : choice["delta"]["tool_calls"]) calls.push_back(tc);
    }
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(finish, "tool_calls") << r.body;
  ASSERT_EQ(calls.size(), 1u) << r.body;
  EXPECT_EQ(calls[0]["index"], 0);
  ExpectWeatherCall(calls[0]);
  ExpectFormat(*s, "hermes", "native");
}

// The follow-up turn of an agent loop: the history holds the call and its
// result, and the request offers the tools with tool_choice "none".
TEST_F(ToolsTest, ToolChoiceNoneAfterACallGivesAPlainReplyThroughTheTemplatesMarkup) {
  Server* s = Start();
  ASSERT_NE(s, nullptr);
  json body = ForcedCall("hermes", false, 6);
  body["tool_choice"] = "none";
  body["max_tokens"] = 8;
  body["messages"].push_back(
      {{"role", "assistant"},
       {"content", nullptr},
       {"tool_calls", json::array({{{"id", "call_1"},
                                    {"type", "function"},
                                    {"function",
                                     {{"name", "get_weather"},
                                      {"arguments", R"({"city":"Lima","celsius":19})"}}}}})}});
  body["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "19 C"}});
  const HttpResponse r = PostJson(s->port(), "/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json out = json::parse(r.body);
  const json& choice = out["choices"][0];
  EXPECT_TRUE(choice["finish_reason"] == "stop" || choice["finish_reason"] == "length") << r.body;
  EXPECT_TRUE(choice["message"]["content"].is_string()) << r.body;
  EXPECT_FALSE(choice["message"].contains("tool_calls")) << r.body;
  ExpectFormat(*s, "hermes", "native");
  // The template's markup makes the prompt longer than the request alone.
  EXPECT_GT(out["usage"]["prompt_tokens"].get<int>(), 40) << r.body;
}

TEST_F(ToolsTest, ATemplateWithoutToolMarkupUsesTheGenericFormat) {
  Server* s = Start();
  ASSERT_NE(s, nullptr);
  const HttpResponse r = PostJson(s->port(), "/v1/chat/completions", ForcedCall("tiny", false, 5));
  ASSERT_EQ(r.status, 200) << r.body;
  const json choice = json::parse(r.body)["choices"][0];
  ASSERT_EQ(choice["finish_reason"], "tool_calls") << r.body;
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << r.body;
  ExpectWeatherCall(choice["message"]["tool_calls"][0]);
  ExpectFormat(*s, "tiny", "generic");
}

}  // namespace
}  // namespace modeld::blackbox
