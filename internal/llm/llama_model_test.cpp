#include "internal/llm/llama_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "internal/llm/llama_test_util.h"

// Generation on real llama.cpp with the tiny model: finish reasons, stop
// strings, cancellation, templates and request errors.

namespace modeld::llm {
namespace {

using testutil::CollectingSink;
using testutil::EogModelPath;
using testutil::Generate;
using testutil::Greedy;
using testutil::kPrompt;
using testutil::LoadOrFail;
using testutil::Outcome;
using testutil::TinyModelPath;

// Moves `pos` back to the start of the UTF-8 character it is in.
size_t CharStart(const std::string& s, size_t pos) {
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

TEST(LlamaModelTest, GreedyIsDeterministicAndHonoursMaxTokens) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome a = Generate(*model, Greedy(kPrompt, 32));
  const Outcome b = Generate(*model, Greedy(kPrompt, 32));
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.stats.completion_tokens, 32);
  EXPECT_EQ(a.stats.finish, FinishReason::kLength);
  EXPECT_GT(a.stats.prompt_tokens, 1);
  EXPECT_EQ(a.started, 1);
  EXPECT_GT(a.stats.generation_ms, 0.0);
  // A shorter run is a prefix of the longer one.
  const Outcome c = Generate(*model, Greedy(kPrompt, 8));
  EXPECT_EQ(c.stats.completion_tokens, 8);
  EXPECT_EQ(a.text.compare(0, c.text.size(), c.text), 0);
}

// Speed is measured by `make bench`; this checks a long run's bookkeeping.
TEST(LlamaModelTest, LongGreedyRunReportsConsistentStats) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  const Outcome r = Generate(*model, Greedy(kPrompt, 512));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.stats.completion_tokens, 512);
  EXPECT_EQ(r.stats.finish, FinishReason::kLength);
  EXPECT_GT(r.stats.prompt_tokens, 1);
  EXPECT_GT(r.stats.prompt_ms, 0.0);
  EXPECT_GT(r.stats.generation_ms, 0.0);
  EXPECT_EQ(r.started, 1);
}

TEST(LlamaModelTest, SeededSamplingIsReproducible) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams p = Greedy(kPrompt, 48);
  p.sampling.temperature = 1.0f;
  p.sampling.seed = 1234;
  p.sampling.presence_penalty = 0.5f;
  const Outcome a = Generate(*model, p);
  const Outcome b = Generate(*model, p);
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  EXPECT_EQ(a.text, b.text);
  p.sampling.seed = 99;
  const Outcome c = Generate(*model, p);
  EXPECT_NE(a.text, c.text);
}

TEST(LlamaModelTest, StopStringCutsOutputBeforeIt) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome full = Generate(*model, Greedy(kPrompt, 64));
  ASSERT_TRUE(full.status.ok());
  ASSERT_GT(full.text.size(), 20u);
  // Stops of several lengths taken from the middle: short ones inside a
  // token, long ones spanning tokens.
  for (size_t len : {2u, 5u, 12u}) {
    const size_t begin = CharStart(full.text, full.text.size() / 2);
    const size_t end = CharStart(full.text, std::min(full.text.size(), begin + len));
    ASSERT_LT(begin, end);
    const std::string stop = full.text.substr(begin, end - begin);
    GenerateParams p = Greedy(kPrompt, 64);
    p.stop = {"never-in-this-output-\x01", stop};
    const Outcome r = Generate(*model, p);
    ASSERT_TRUE(r.status.ok());
    const std::string want = full.text.substr(0, full.text.find(stop));
    EXPECT_EQ(r.text, want) << "stop '" << stop << "'";
    EXPECT_EQ(r.stats.finish, FinishReason::kStop);
    EXPECT_EQ(r.text.find(stop), std::string::npos);
    EXPECT_LT(r.stats.completion_tokens, 64);
  }
}

TEST(LlamaModelTest, EndOfGenerationTokenFinishesWithStop) {
  ModelPtr model = LoadOrFail(EogModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome r = Generate(*model, Greedy(kPrompt, 16));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.stats.finish, FinishReason::kStop);
  EXPECT_EQ(r.stats.completion_tokens, 0);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.delivered, 0);
  EXPECT_EQ(r.started, 1);
}

TEST(LlamaModelTest, FullContextFinishesWithLength) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 256);
  ASSERT_NE(model, nullptr);
  const int n_ctx = dynamic_cast<LlamaModel&>(*model).n_ctx();
  const Outcome r = Generate(*model, Greedy(kPrompt, 100000));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.stats.finish, FinishReason::kLength);
  // Every position gets decoded, and one more token is sampled from the last.
  EXPECT_EQ(r.stats.prompt_tokens + r.stats.completion_tokens, n_ctx + 1);
}

// Hands the 5th batch to another thread and waits there until that thread
// has set the cancel flag, so the flag is known to be set before token 6.
class CancellingSink : public CollectingSink {
 public:
  CancellingSink(std::atomic<bool>& cancel, const GenerateStats& stats)
      : cancel_(cancel), stats_(stats) {}
  void Deliver(std::string_view batch) override {
    CollectingSink::Deliver(batch);
    if (delivered.load() != 5) return;
    tokens_at_cancel = stats_.completion_tokens;  // same thread as the generator
    std::thread canceller([this] { cancel_.store(true); });
    canceller.join();
  }
  int tokens_at_cancel = -1;

 private:
  std::atomic<bool>& cancel_;
  const GenerateStats& stats_;
};

TEST(LlamaModelTest, CancelFromAnotherThreadStopsAtTheNextToken) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 2048);  // one hand-over per token
  ASSERT_NE(model, nullptr);
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  CancellingSink sink(cancel, stats);
  const Status st = model->Generate(Greedy(kPrompt, 2000), sink, cancel, stats);
  EXPECT_EQ(st.code(), Code::kCancelled) << st.message();
  EXPECT_EQ(sink.delivered.load(), 5);
  // The flag is checked once per token: nothing is sampled after it was set.
  EXPECT_GE(sink.tokens_at_cancel, 5);
  EXPECT_EQ(stats.completion_tokens, sink.tokens_at_cancel);
}

TEST(LlamaModelTest, CancelSetBeforeGenerateIsCancelled) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  CollectingSink sink;
  std::atomic<bool> cancel{true};
  GenerateStats stats;
  EXPECT_EQ(model->Generate(Greedy(kPrompt, 8), sink, cancel, stats).code(), Code::kCancelled);
  EXPECT_EQ(sink.started.load(), 0);
  EXPECT_EQ(stats.completion_tokens, 0);
}

TEST(LlamaModelTest, ChatMessagesUseTheModelTemplate) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams chat = Greedy("", 16);
  chat.messages = std::vector<ChatMessage>{{"system", "be brief"}, {"user", "hello"}};
  const Outcome templated = Generate(*model, chat);
  ASSERT_TRUE(templated.status.ok()) << templated.status.message();
  EXPECT_EQ(templated.stats.completion_tokens, 16);
  // The template wraps the messages: more tokens than the raw contents.
  const Outcome raw = Generate(*model, Greedy("be brief hello", 1));
  EXPECT_GT(templated.stats.prompt_tokens, raw.stats.prompt_tokens + 4);

  // The tiny model's GGUF template is ChatML: naming it gives the same prompt.
  ModelPtr named = LoadOrFail(TinyModelPath(), 512, "chatml");
  ASSERT_NE(named, nullptr);
  const Outcome same = Generate(*named, chat);
  EXPECT_EQ(same.stats.prompt_tokens, templated.stats.prompt_tokens);
  EXPECT_EQ(same.text, templated.text);
  // Another built-in template formats differently.
  ModelPtr other = LoadOrFail(TinyModelPath(), 512, "llama2");
  ASSERT_NE(other, nullptr);
  const Outcome different = Generate(*other, chat);
  ASSERT_TRUE(different.status.ok()) << different.status.message();
  EXPECT_NE(different.stats.prompt_tokens, templated.stats.prompt_tokens);
}

TEST(LlamaModelTest, UnsupportedTemplateIsTemplateError) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 512, "{{ garbage }}");
  ASSERT_NE(model, nullptr);
  GenerateParams chat = Greedy("", 4);
  chat.messages = std::vector<ChatMessage>{{"user", "hello"}};
  const Outcome r = Generate(*model, chat);
  EXPECT_EQ(r.status.code(), Code::kTemplateError);
  EXPECT_NE(r.status.message().find("test-model"), std::string::npos) << r.status.message();
  EXPECT_EQ(r.started, 0);
  // A raw prompt does not need the template.
  EXPECT_TRUE(Generate(*model, Greedy(kPrompt, 2)).status.ok());
}

TEST(LlamaModelTest, ModelWithoutTemplateIsTemplateErrorForChat) {
  const std::string path = testutil::TempDir() + "/no-template.gguf";
  ASSERT_TRUE(testutil::CopyGgufWithoutKey(TinyModelPath(), path, "tokenizer.chat_template"));
  ModelPtr model = LoadOrFail(path);
  ASSERT_NE(model, nullptr);
  GenerateParams chat = Greedy("", 4);
  chat.messages = std::vector<ChatMessage>{{"user", "hello"}};
  const Outcome r = Generate(*model, chat);
  EXPECT_EQ(r.status.code(), Code::kTemplateError);
  EXPECT_NE(r.status.message().find("has no chat template"), std::string::npos)
      << r.status.message();
  // The copy is otherwise intact: raw prompts work, and an override helps.
  EXPECT_TRUE(Generate(*model, Greedy(kPrompt, 2)).status.ok());
  ModelPtr with_override = LoadOrFail(path, 512, "chatml");
  ASSERT_NE(with_override, nullptr);
  EXPECT_TRUE(Generate(*with_override, chat).status.ok());
}

TEST(LlamaModelTest, EmptyMessagesAreInvalidRequest) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  GenerateParams chat = Greedy("", 4);
  chat.messages = std::vector<ChatMessage>{};
  EXPECT_EQ(Generate(*model, chat).status.code(), Code::kInvalidRequest);
}

TEST(LlamaModelTest, PromptLongerThanContextIsInvalidRequest) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 256);
  ASSERT_NE(model, nullptr);
  std::string prompt;
  for (int i = 0; i < 300; ++i) prompt += "hello world ";
  const Outcome r = Generate(*model, Greedy(prompt, 4));
  EXPECT_EQ(r.status.code(), Code::kInvalidRequest);
  int n_prompt = 0;
  ASSERT_EQ(std::sscanf(r.status.message().c_str(), "prompt is %d tokens; context size is 256",
                        &n_prompt),
            1)
      << r.status.message();
  EXPECT_GT(n_prompt, 256);
  EXPECT_EQ(r.started, 0);
}

TEST(LlamaModelTest, InvalidParametersAreInvalidRequest) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(Generate(*model, Greedy(kPrompt, 0)).status.code(), Code::kInvalidRequest);
  GenerateParams bad_stop = Greedy(kPrompt, 4);
  bad_stop.stop = {"\xC3"};
  EXPECT_EQ(Generate(*model, bad_stop).status.code(), Code::kInvalidRequest);
}

}  // namespace
}  // namespace modeld::llm
