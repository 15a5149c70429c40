// Bad prompts cost nothing before they are refused: one too long for the
// model it names is refused before a switch cancels others' work, and chat
// content cannot forge the template's control tokens.

#include <string>
#include <vector>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class PromptSafetyTest : public BlackboxTest {};

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.insert(out.end(), s.begin(), s.end());
  return out;
}

TEST_F(PromptSafetyTest, APromptTooLongForAnotherModelIsRefusedBeforeAnySwitch) {
  std::vector<ModelEntry> models = StandardModels();
  models.push_back({"small-short", ModelFile("small.gguf"), "q8_0", "    ctx_size: 32\n"});
  Server* s = StartServer(ConfigYaml("tiny", models), {}, "tiny");
  ASSERT_NE(s, nullptr);
  InferStream running(s->port(), LongBody());
  ASSERT_TRUE(running.Next(Millis(10000)).has_value()) << running.error();

  const HttpResponse r = PostJson(
      s->port(), "/infer",
      InferBody(Repeat("many words ", 40), 4, {{"model", "small-short"}, {"stream", false}}));
  ExpectErrorResponse(r, 400, "invalid_request");
  EXPECT_NE(r.body.find("context size is 32"), std::string::npos) << r.body;
  // The chat endpoint is checked the same way.
  const json chat = {
      {"model", "small-short"},
      {"messages", json::array({{{"role", "user"}, {"content", Repeat("many words ", 40)}}})}};
  const HttpResponse c = PostJson(s->port(), "/v1/chat/completions", chat);
  EXPECT_EQ(c.status, 400) << c.body;

  // The running generation was not cancelled and no switch began.
  auto next = running.Next(Millis(10000));
  ASSERT_TRUE(next.has_value()) << running.error();
  EXPECT_EQ(next->type, "token");
  running.Close();
  for (const json& line : s->LogsWithMsg("state")) {
    EXPECT_NE(Str(line, "model"), "small-short") << line.dump();
  }
  ExpectReadyz(s->port(), 200, "ready", "tiny");
}

// "</s>" typed by a user is text (several tokens each), not the end-of-
// sequence token: 50 of them add well over 50 prompt tokens.
TEST_F(PromptSafetyTest, ControlTokenTextInChatContentIsPlainText) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  auto prompt_tokens = [&](const std::string& content) {
    const json body = {{"model", "tiny"},
                       {"max_tokens", 1},
                       {"messages", json::array({{{"role", "user"}, {"content", content}}})}};
    const HttpResponse r = PostJson(s->port(), "/v1/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["usage"]["prompt_tokens"].get<int>();
  };
  const int base = prompt_tokens("x");
  std::string content = Repeat("</s>", 50);
  content.insert(content.begin(), 'x');
  const int forged = prompt_tokens(content);
  EXPECT_GE(forged - base, 100) << "each </s> should be text, not one control token";
}

}  // namespace
}  // namespace modeld::blackbox
