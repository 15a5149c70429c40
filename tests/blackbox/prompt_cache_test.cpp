// The prompt cache inside the context, seen from outside: a conversation's
// next turn reuses the KV cache of the previous one, reports how much, and
// answers as an uncached run would.

#include <filesystem>
#include <string>
#include <vector>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class PromptCacheTest : public BlackboxTest {};

int CachedOf(const InferResult& r) {
  if (!r.done || !(*r.done)["timings"].contains("cached_tokens")) return -1;
  return (*r.done)["timings"]["cached_tokens"].get<int>();
}

TEST_F(PromptCacheTest, TheNextTurnReusesThePreviousPromptAndSaysSo) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  const std::string turn1 = "User: tell me about the sea and the ships that sail on it.";
  const std::string turn2 = turn1 + " Assistant: the sea is wide. User: and the ships?";
  auto first = Infer(s->port(), InferBody(turn1, 8));
  ExpectCompleted(first, "small");
  EXPECT_EQ(CachedOf(first), 0) << first.Describe();
  auto second = Infer(s->port(), InferBody(turn2, 16));
  ExpectCompleted(second, "small");
  EXPECT_GT(CachedOf(second), 5) << second.Describe();
  EXPECT_LT(CachedOf(second), (*second.done)["usage"]["prompt_tokens"].get<int>());
  // The same request on a server with nothing cached gives the same text.
  Server* cold = StartStandard("small");
  ASSERT_NE(cold, nullptr);
  auto uncached = Infer(cold->port(), InferBody(turn2, 16));
  ExpectCompleted(uncached, "small");
  EXPECT_EQ(CachedOf(uncached), 0);
  EXPECT_EQ(second.text, uncached.text);
  // The counters saw one hit and the reused tokens.
  EXPECT_EQ(s->Metric("modeld_prompt_cache_hits_total"), 1.0);
  EXPECT_EQ(s->Metric("modeld_prompt_cache_misses_total"), 1.0);
  EXPECT_EQ(s->Metric("modeld_prompt_tokens_cached_total{model=\"small\"}"),
            static_cast<double>(CachedOf(second)));
}

TEST_F(PromptCacheTest, OpenAiUsageReportsCachedTokens) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  json body = {{"model", "tiny"},
               {"messages", json::array({{{"role", "user"}, {"content", "hello there"}}})},
               {"max_tokens", 4},
               {"temperature", 0}};
  auto a = PostJson(s->port(), "/v1/chat/completions", body);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.Json()["usage"]["prompt_tokens_details"]["cached_tokens"], 0) << a.body;
  auto b = PostJson(s->port(), "/v1/chat/completions", body);
  ASSERT_EQ(b.status, 200) << b.body;
  const json usage = b.Json()["usage"];
  EXPECT_EQ(usage["prompt_tokens_details"]["cached_tokens"].get<int>(),
            usage["prompt_tokens"].get<int>() - 1)
      << b.body;
}

// No process-per-model server can do this: the conversation's cache
// survives a switch to another model and back.
TEST_F(PromptCacheTest, ACacheSurvivesASwitchAwayAndBack) {
  Server* s = StartStandard("small");
  ASSERT_NE(s, nullptr);
  const std::string turn1 = "User: tell me about the sea and the ships that sail on it.";
  const std::string turn2 = turn1 + " Assistant: the sea is wide. User: and the ships?";
  ExpectCompleted(Infer(s->port(), InferBody(turn1, 8)), "small");
  ExpectCompleted(Infer(s->port(), InferBody("elsewhere", 2, {{"model", "tiny"}})), "tiny");
  auto bytes = s->Metric("modeld_prompt_cache_bytes");
  ASSERT_TRUE(bytes.has_value()) << "modeld_prompt_cache_bytes missing";
  EXPECT_GT(*bytes, 0.0) << "small's cache was not kept in host RAM";
  auto back = Infer(s->port(), InferBody(turn2, 16, {{"model", "small"}}));
  ExpectCompleted(back, "small");
  EXPECT_GT(CachedOf(back), 5) << back.Describe();
  auto line = s->WaitForLog(
      [](const json& l) {
        return Str(l, "msg") == "request" && Str(l, "model") == "small" &&
               Str(l, "cache") == "host";
      },
      Millis(5000));
  ASSERT_TRUE(line.has_value()) << "no request line saying the cache came from host RAM";
  EXPECT_EQ((*line)["cached_tokens"].get<int>(), CachedOf(back));
  // And the text is what an uncached run gives.
  Server* cold = StartStandard("small");
  ASSERT_NE(cold, nullptr);
  auto uncached = Infer(cold->port(), InferBody(turn2, 16));
  EXPECT_EQ(back.text, uncached.text);
}

TEST_F(PromptCacheTest, AReplacedModelFileIsNotServedFromTheCache) {
  TempDir dir;
  const std::string file = (dir.path() / "swap.gguf").string();
  std::filesystem::copy_file(ModelFile("tiny.gguf"), file);
  std::vector<ModelEntry> models = StandardModels();
  models.push_back({"swap", file, "f16", ""});
  Server* s = StartServer(ConfigYaml("swap", models), {}, "swap");
  ASSERT_NE(s, nullptr);
  const std::string prompt = "a prompt that would be cached for a while";
  ExpectCompleted(Infer(s->port(), InferBody(prompt, 4)), "swap");
  ExpectCompleted(Infer(s->port(), InferBody("away", 2, {{"model", "tiny"}})), "tiny");
  // The user replaces the file while another model is loaded.
  std::filesystem::remove(file);
  std::filesystem::copy_file(ModelFile("tiny-b.gguf"), file);
  auto r = Infer(s->port(), InferBody(prompt, 4, {{"model", "swap"}}));
  ExpectCompleted(r, "swap");
  EXPECT_EQ(CachedOf(r), 0) << r.Describe();
}

}  // namespace
}  // namespace modeld::blackbox
