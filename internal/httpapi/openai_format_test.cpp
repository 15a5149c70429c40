#include "internal/httpapi/openai_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "internal/llm/tool_generic.h"

namespace modeld::httpapi {
namespace {

using nlohmann::json;

std::shared_ptr<manager::Request> ResolvedRequest(const std::string& model) {
  auto r = std::make_shared<manager::Request>("", llm::GenerateParams{});
  r->model = model;  // what Manager::Submit does
  return r;
}

OpenAiFormat MakeFormat(OpenAiKind kind, bool stream, bool include_usage) {
  return OpenAiFormat({kind, stream, include_usage,
                       kind == OpenAiKind::kChat ? "chatcmpl-1" : "cmpl-1", 1700000000},
                      ResolvedRequest("tiny"));
}

manager::Outcome Done(llm::FinishReason finish) {
  manager::Outcome o;
  o.model = "tiny";
  o.stats.prompt_tokens = 4;
  o.stats.completion_tokens = 6;
  o.stats.finish = finish;
  return o;
}

// Splits an SSE stream into its data payloads; every event must be exactly
// "data: <payload>\n\n".
std::vector<std::string> DataEvents(const std::string& sse) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = sse.find("\n\n", start)) != std::string::npos; start = end + 2) {
    const std::string event = sse.substr(start, end - start);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    EXPECT_EQ(event.find('\n'), std::string::npos) << event;
    out.push_back(event.substr(6));
  }
  EXPECT_EQ(start, sse.size()) << "trailing bytes: " << sse.substr(start);
  return out;
}

void ExpectChunkHeader(const json& c, const char* object, const char* id) {
  EXPECT_EQ(c["id"], id);
  EXPECT_EQ(c["object"], object);
  EXPECT_EQ(c["created"], 1700000000);
  EXPECT_EQ(c["model"], "tiny");
}

TEST(OpenAiFormatTest, ChatStreamRoleThenDeltasThenFinishThenDone) {
  OpenAiFormat f = MakeFormat(OpenAiKind::kChat, true, false);
  EXPECT_EQ(f.content_type(), "text/event-stream");
  std::string out;
  f.AppendText(out, "Hel");
  f.AppendText(out, "lo \"x\"\n");
  f.AppendDone(out, Done(llm::FinishReason::kLength));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 5u) << out;
  std::vector<json> c;
  for (size_t i = 0; i + 1 < events.size(); ++i) c.push_back(json::parse(events[i]));
  for (const auto& chunk : c) ExpectChunkHeader(chunk, "chat.completion.chunk", "chatcmpl-1");
  EXPECT_EQ(c[0]["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_EQ(c[1]["choices"][0]["delta"], json({{"content", "Hel"}}));
  EXPECT_TRUE(c[1]["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(c[2]["choices"][0]["delta"], json({{"content", "lo \"x\"\n"}}));
  EXPECT_EQ(c[3]["choices"][0]["delta"], json::object());
  EXPECT_EQ(c[3]["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(c[3].contains("usage"));
  EXPECT_EQ(events[4], "[DONE]");
}

TEST(OpenAiFormatTest, ChatStreamWithoutTextStillSendsRoleAndUsageWhenAsked) {
  OpenAiFormat f = MakeFormat(OpenAiKind::kChat, true, true);
  std::string out;
  f.AppendDone(out, Done(llm::FinishReason::kStop));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 4u) << out;
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(json::parse(events[1])["choices"][0]["finish_reason"], "stop");
  const json usage = json::parse(events[2]);
  ExpectChunkHeader(usage, "chat.completion.chunk", "chatcmpl-1");
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"], json({{"prompt_tokens", 4},
                                  {"completion_tokens", 6},
                                  {"total_tokens", 10},
                                  {"prompt_tokens_details", {{"cached_tokens", 0}}}}));
  EXPECT_EQ(events[3], "[DONE]");
}

TEST(OpenAiFormatTest, CompletionStreamChunksCarryText) {
  OpenAiFormat f = MakeFormat(OpenAiKind::kCompletion, true, true);
  std::string out;
  f.AppendText(out, "abc");
  f.AppendDone(out, Done(llm::FinishReason::kStop));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 4u) << out;
  const json first = json::parse(events[0]);
  ExpectChunkHeader(first, "text_completion", "cmpl-1");
  EXPECT_EQ(first["choices"][0]["text"], "abc");
  EXPECT_EQ(first["choices"][0]["index"], 0);
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  const json last = json::parse(events[1]);
  EXPECT_EQ(last["choices"][0]["text"], "");
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(json::parse(events[2])["usage"]["total_tokens"], 10);
  EXPECT_EQ(events[3], "[DONE]");
}

TEST(OpenAiFormatTest, MidStreamErrorIsAnErrorEventThenDone) {
  OpenAiFormat f = MakeFormat(OpenAiKind::kChat, true, false);
  std::string out;
  f.AppendText(out, "partial");
  out.clear();
  f.AppendError(out, Status::Cancelled("cancelled: switched to model 'small'"));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 2u) << out;
  const json err = json::parse(events[0]);
  EXPECT_EQ(err["error"]["code"], "cancelled");
  EXPECT_EQ(err["error"]["type"], "invalid_request_error");
  EXPECT_EQ(err["error"]["message"], "cancelled: switched to model 'small'");
  EXPECT_EQ(events[1], "[DONE]");
}

TEST(OpenAiFormatTest, NonStreamingBodies) {
  OpenAiFormat chat = MakeFormat(OpenAiKind::kChat, false, false);
  EXPECT_EQ(chat.content_type(), "application/json");
  const json c = json::parse(chat.CompleteBody(Done(llm::FinishReason::kLength), "hi there"));
  EXPECT_EQ(c["id"], "chatcmpl-1");
  EXPECT_EQ(c["object"], "chat.completion");
  EXPECT_EQ(c["created"], 1700000000);
  EXPECT_EQ(c["model"], "tiny");
  ASSERT_EQ(c["choices"].size(), 1u);
  EXPECT_EQ(c["choices"][0]["message"], json({{"role", "assistant"}, {"content", "hi there"}}));
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["prompt_tokens"], 4);
  EXPECT_EQ(c["usage"]["completion_tokens"], 6);
  EXPECT_EQ(c["usage"]["total_tokens"], 10);

  OpenAiFormat cmpl = MakeFormat(OpenAiKind::kCompletion, false, false);
  const json t = json::parse(cmpl.CompleteBody(Done(llm::FinishReason::kStop), "text"));
  EXPECT_EQ(t["object"], "text_completion");
  EXPECT_EQ(t["choices"][0]["text"], "text");
  EXPECT_EQ(t["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(t["usage"]["total_tokens"], 10);
}

TEST(OpenAiFormatTest, ErrorBodyIsOpenAiShaped) {
  OpenAiFormat f = MakeFormat(OpenAiKind::kChat, true, false);
  const json e = json::parse(f.ErrorBody(Status::LoadFailed("loading model 'x' failed")));
  EXPECT_EQ(e["error"]["code"], "load_failed");
  EXPECT_EQ(e["error"]["type"], "server_error");
  EXPECT_EQ(e["error"]["message"], "loading model 'x' failed");
}

}  // namespace
}  // namespace modeld::httpapi

namespace modeld::httpapi {
namespace {

OpenAiFormat ToolFormat(bool stream) {
  return OpenAiFormat({OpenAiKind::kChat, stream, false, "chatcmpl-1", 1700000000, true},
                      ResolvedRequest("tiny"));
}

// An outcome whose reply the generic tool format reads.
manager::Outcome ToolDone(llm::FinishReason finish) {
  manager::Outcome o = Done(finish);
  o.stats.tool_parser = llm::GenericToolParser();
  return o;
}

constexpr const char* kCalls =
    R"({"tool_calls":[{"name":"a","arguments":{"z":1,"y":2}},{"name":"b","arguments":{}}]})";

TEST(OpenAiFormatTest, StreamedToolReplyIsHeldBackThenSentAsToolCallDeltas) {
  OpenAiFormat f = ToolFormat(true);
  std::string out;
  const std::string text = kCalls;
  f.AppendText(out, text.substr(0, 20));
  f.AppendText(out, text.substr(20));
  EXPECT_TRUE(out.empty()) << "nothing before the reply is complete: " << out;
  f.AppendDone(out, ToolDone(llm::FinishReason::kStop));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 5u);  // role, two calls, finish, [DONE]
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["role"], "assistant");
  for (int i = 0; i < 2; ++i) {
    const json tc = json::parse(events[1 + i])["choices"][0]["delta"]["tool_calls"][0];
    EXPECT_EQ(tc["index"], i);
    EXPECT_EQ(tc["type"], "function");
    EXPECT_EQ(tc["id"].get<std::string>().rfind("call_", 0), 0u);
    EXPECT_EQ(tc["function"]["name"], i == 0 ? "a" : "b");
  }
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"],
            R"({"z":1,"y":2})");  // the model's order kept
  EXPECT_EQ(json::parse(events[3])["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(events[4], "[DONE]");
}

TEST(OpenAiFormatTest, ToolReplyCutByMaxTokensIsContentWithLength) {
  OpenAiFormat f = ToolFormat(true);
  std::string out;
  f.AppendText(out, R"({"tool_calls":[{"name":"a","argu)");
  f.AppendDone(out, ToolDone(llm::FinishReason::kLength));
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["content"],
            R"({"tool_calls":[{"name":"a","argu)");
  EXPECT_EQ(json::parse(events[2])["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiFormatTest, NonStreamedToolReplyHasToolCallsOrContent) {
  OpenAiFormat f = ToolFormat(false);
  const json calls = json::parse(f.CompleteBody(ToolDone(llm::FinishReason::kStop), kCalls));
  const json& choice = calls["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["message"]["content"].is_null());
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 2u);
  EXPECT_EQ(choice["message"]["tool_calls"][1]["function"]["name"], "b");
  EXPECT_EQ(choice["message"]["tool_calls"][1]["function"]["arguments"], "{}");

  const json text =
      json::parse(f.CompleteBody(ToolDone(llm::FinishReason::kStop), R"({"response":"hi"})"));
  EXPECT_EQ(text["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(text["choices"][0]["message"]["content"], "hi");
  EXPECT_FALSE(text["choices"][0]["message"].contains("tool_calls"));
}

// A parser like a template's: text before the call, a call with its own id.
class TextThenCallParser final : public llm::ToolReplyParser {
 public:
  bool Parse(std::string_view text, llm::ToolReply& out) const override {
    if (text != "<call>") return false;
    out.content = "let me look";
    out.calls.push_back({"abc", "f", R"({"a":1})"});
    return true;
  }
  std::string_view format() const override { return "native"; }
};

TEST(OpenAiFormatTest, TextBeforeACallIsSentAsContentAndTheCallKeepsItsId) {
  manager::Outcome done = Done(llm::FinishReason::kStop);
  done.stats.tool_parser = std::make_shared<TextThenCallParser>();
  OpenAiFormat streamed = ToolFormat(true);
  std::string out;
  streamed.AppendText(out, "<call>");
  streamed.AppendDone(out, done);
  const auto events = DataEvents(out);
  ASSERT_EQ(events.size(), 5u) << out;  // role, content, call, finish, [DONE]
  EXPECT_EQ(json::parse(events[1])["choices"][0]["delta"]["content"], "let me look");
  EXPECT_EQ(json::parse(events[2])["choices"][0]["delta"]["tool_calls"][0]["id"], "abc");
  EXPECT_EQ(json::parse(events[3])["choices"][0]["finish_reason"], "tool_calls");

  OpenAiFormat whole = ToolFormat(false);
  const json body = json::parse(whole.CompleteBody(done, "<call>"));
  EXPECT_EQ(body["choices"][0]["message"]["content"], "let me look");
  EXPECT_EQ(body["choices"][0]["message"]["tool_calls"][0]["id"], "abc");
  // Unparsable output with tools is content, never an error.
  const json text = json::parse(whole.CompleteBody(done, "no call here"));
  EXPECT_EQ(text["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(text["choices"][0]["message"]["content"], "no call here");
}

}  // namespace
}  // namespace modeld::httpapi
