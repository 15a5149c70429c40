#include "internal/llm/llama_model.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "internal/llm/llama_test_util.h"
#include "internal/llm/utf8_stream.h"

namespace modeld::llm {
namespace {

using testutil::CollectingSink;
using testutil::EogModelPath;
using testutil::Greedy;
using testutil::LoadOrFail;
using testutil::TinyModelPath;

const std::string kPrompt = "the quick brown fox";

struct Outcome {
  Status status;
  GenerateStats stats;
  std::string text;
  int delivered = 0;
  int started = 0;
};

Outcome Generate(Model& model, const GenerateParams& params) {
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  Outcome run;
  run.status = model.Generate(params, sink, cancel, run.stats);
  run.text = sink.text;
  run.delivered = sink.delivered;
  run.started = sink.started;
  return run;
}

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

TEST(LlamaModelTest, GreedyThroughput) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  const Outcome r = Generate(*model, Greedy(kPrompt, 512));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.stats.completion_tokens, 512);
  const double tok_s = 1000.0 * r.stats.completion_tokens / r.stats.generation_ms;
  std::printf("tiny greedy: %d tokens in %.1f ms = %.0f tok/s (prompt %d tokens in %.2f ms)\n",
              r.stats.completion_tokens, r.stats.generation_ms, tok_s, r.stats.prompt_tokens,
              r.stats.prompt_ms);
  RecordProperty("greedy_tok_s", static_cast<int>(tok_s));
  EXPECT_GT(tok_s, 0.0);
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

TEST(LlamaModelTest, CancelFromAnotherThreadStopsQuickly) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 2048);
  ASSERT_NE(model, nullptr);
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    while (sink.delivered.load() < 5) std::this_thread::sleep_for(std::chrono::microseconds(100));
    cancelled_at = std::chrono::steady_clock::now();
    cancel = true;
  });
  GenerateStats stats;
  const Status st = model->Generate(Greedy(kPrompt, 2000), sink, cancel, stats);
  const auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  EXPECT_EQ(st.code(), Code::kCancelled) << st.message();
  EXPECT_GE(stats.completion_tokens, 5);
  EXPECT_LT(stats.completion_tokens, 2000);
  EXPECT_LT(returned_at - cancelled_at, std::chrono::milliseconds(500));
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

TEST(LlamaModelTest, PromptLongerThanContextIsInvalidRequest) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 256);
  ASSERT_NE(model, nullptr);
  std::string prompt;
  for (int i = 0; i < 300; ++i) prompt += "hello world ";
  const Outcome r = Generate(*model, Greedy(prompt, 4));
  EXPECT_EQ(r.status.code(), Code::kInvalidRequest);
  EXPECT_EQ(r.status.message(), "prompt is " + std::to_string(r.stats.prompt_tokens) +
                                    " tokens; context size is 256");
  EXPECT_GT(r.stats.prompt_tokens, 256);
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

TEST(LlamaModelTest, HotSampledTextIsAlwaysValidUtf8) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  GenerateParams p = Greedy("caf\xC3\xA9 \xF0\x9F\x98\x80", 400);
  p.sampling.temperature = 1.5f;
  p.sampling.top_k = 0;
  p.sampling.top_p = 1.0f;
  p.sampling.min_p = 0.0f;
  p.sampling.seed = 7;
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model->Generate(p, sink, cancel, stats).ok());
  EXPECT_EQ(stats.completion_tokens, 400);
  ASSERT_FALSE(sink.batches.empty());
  for (const auto& batch : sink.batches) {
    EXPECT_FALSE(batch.empty());
    EXPECT_TRUE(IsValidUtf8(batch));
  }
  EXPECT_TRUE(IsValidUtf8(sink.text));
}

TEST(LlamaModelTest, BusySinkGetsOneBatchWithAllText) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome reference = Generate(*model, Greedy(kPrompt, 50));
  ASSERT_TRUE(reference.status.ok());
  EXPECT_GT(reference.delivered, 10);  // an idle sink gets text token by token
  CollectingSink never_idle;
  never_idle.SetWants(false);
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model->Generate(Greedy(kPrompt, 50), never_idle, cancel, stats).ok());
  EXPECT_EQ(never_idle.delivered.load(), 1);
  EXPECT_EQ(never_idle.text, reference.text);
}

// Hands each batch to a consumer that is busy for a while, like a slow client.
class SlowSink : public CollectingSink {
 public:
  void Deliver(std::string_view batch) override {
    SetWants(false);
    CollectingSink::Deliver(batch);
    busy_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
    if (!consumer_.joinable()) consumer_ = std::thread([this] { Consume(); });
  }
  ~SlowSink() override {
    done_ = true;
    if (consumer_.joinable()) consumer_.join();
  }

 private:
  void Consume() {
    while (!done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (std::chrono::steady_clock::now() >= busy_until_.load()) SetWants(true);
    }
  }
  std::atomic<std::chrono::steady_clock::time_point> busy_until_{};
  std::atomic<bool> done_{false};
  std::thread consumer_;
};

TEST(LlamaModelTest, SlowSinkGetsFewerLargerBatches) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  const Outcome reference = Generate(*model, Greedy(kPrompt, 300));
  ASSERT_TRUE(reference.status.ok());
  SlowSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model->Generate(Greedy(kPrompt, 300), sink, cancel, stats).ok());
  EXPECT_EQ(sink.text, reference.text);
  EXPECT_LT(sink.delivered.load(), stats.completion_tokens / 2);
  EXPECT_GE(sink.delivered.load(), 1);
}

// Appends into reserved memory: delivering allocates nothing.
class NonAllocatingSink : public TextSink {
 public:
  NonAllocatingSink() { text.reserve(1 << 20); }
  void Started() override {}
  void Deliver(std::string_view batch) override { text.append(batch); }
  std::string text;
};

// The llama.cpp calls Generate makes for one request of `n` tokens, made
// directly: clear, tokenize, decode the prompt, then per token sample (argmax
// or a chain like TokenSampler's), check for end of generation, render the
// piece and decode it. Returns the allocations they made on this thread.
long BareRequestAllocations(llama_context* ctx, const SamplingParams& sp, int n) {
  const long before = testutil::ThreadAllocations();
  const llama_vocab* vocab = llama_model_get_vocab(llama_get_model(ctx));
  const int n_vocab = llama_vocab_n_tokens(vocab);
  llama_memory_clear(llama_get_memory(ctx), true);
  std::vector<llama_token> prompt(kPrompt.size() + 4);
  prompt.resize(llama_tokenize(vocab, kPrompt.data(), static_cast<int32_t>(kPrompt.size()),
                               prompt.data(), static_cast<int32_t>(prompt.size()),
                               llama_vocab_get_add_bos(vocab), false));
  EXPECT_EQ(llama_decode(ctx, llama_batch_get_one(prompt.data(), prompt.size())), 0);
  llama_sampler* chain = nullptr;
  if (sp.temperature > 0) {
    chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(chain, llama_sampler_init_penalties(n_vocab, 64, 1.0f,
                                                                sp.frequency_penalty,
                                                                sp.presence_penalty));
    llama_sampler_chain_add(chain, llama_sampler_init_top_k(sp.top_k));
    llama_sampler_chain_add(chain, llama_sampler_init_top_p(sp.top_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_min_p(sp.min_p, 1));
    llama_sampler_chain_add(chain, llama_sampler_init_temp(sp.temperature));
    llama_sampler_chain_add(chain, llama_sampler_init_dist(sp.seed));
  }
  char piece[256];
  for (int i = 1; i <= n; ++i) {
    llama_token token = 0;
    if (chain != nullptr) {
      token = llama_sampler_sample(chain, ctx, -1);
    } else {
      const float* logits = llama_get_logits_ith(ctx, -1);
      for (llama_token t = 1; t < n_vocab; ++t) {
        if (logits[t] > logits[token]) token = t;
      }
    }
    if (llama_vocab_is_eog(vocab, token)) break;
    llama_token_to_piece(vocab, token, piece, sizeof(piece), 0, false);
    if (i < n) {
      EXPECT_EQ(llama_decode(ctx, llama_batch_get_one(&token, 1)), 0);
    }
  }
  if (chain != nullptr) llama_sampler_free(chain);
  return testutil::ThreadAllocations() - before;
}

long GenerateAllocations(Model& model, GenerateParams p, int n) {
  p.max_tokens = n;
  NonAllocatingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  const long before = testutil::ThreadAllocations();
  const Status st = model.Generate(p, sink, cancel, stats);
  const long allocations = testutil::ThreadAllocations() - before;
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(stats.completion_tokens, n);
  return allocations;
}

// The extra tokens of a longer request cost Generate exactly the allocations
// llama.cpp itself makes for them (its decode and sampler chain allocate);
// Generate's own per-token work (text conversion, stop matching, hand-over)
// adds none. Requests repeat in the same order on both sides, so llama.cpp's
// graph-reuse state matches.
TEST(LlamaModelTest, PerTokenPathAddsNoAllocationsToLlamaCpps) {
  constexpr int kCtx = 1024, kShort = 100, kLong = 300;
  ModelPtr model = LoadOrFail(TinyModelPath(), kCtx);
  ASSERT_NE(model, nullptr);
  llama_model_params mp = llama_model_default_params();
  mp.load_mode = LLAMA_LOAD_MODE_MMAP;
  std::unique_ptr<llama_model, LlamaModel::ModelDeleter> bare_model(
      llama_model_load_from_file(TinyModelPath().c_str(), mp));
  ASSERT_NE(bare_model, nullptr);
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = kCtx;
  cp.n_batch = kCtx;
  cp.n_ubatch = 512;
  cp.n_seq_max = 1;
  cp.n_threads = cp.n_threads_batch = 1;  // as LoadOrFail: all compute on this thread
  cp.no_perf = true;
  std::unique_ptr<llama_context, LlamaModel::ContextDeleter> bare_ctx(
      llama_init_from_model(bare_model.get(), cp));
  ASSERT_NE(bare_ctx, nullptr);

  for (float temperature : {0.0f, 1.0f}) {
    GenerateParams p = Greedy(kPrompt, kLong);
    p.sampling.temperature = temperature;
    p.sampling.seed = 5;
    p.sampling.frequency_penalty = temperature > 0 ? 0.3f : 0.0f;
    p.stop = {"zzzz-not-there"};
    GenerateAllocations(*model, p, kLong);  // warms the reusable buffers
    const long ours = GenerateAllocations(*model, p, kLong) - GenerateAllocations(*model, p, kShort);
    BareRequestAllocations(bare_ctx.get(), p.sampling, kLong);
    const long bare = BareRequestAllocations(bare_ctx.get(), p.sampling, kLong) -
                      BareRequestAllocations(bare_ctx.get(), p.sampling, kShort);
    std::printf("temperature %.0f: llama.cpp allocates %.1f times per token\n", temperature,
                static_cast<double>(bare) / (kLong - kShort));
    EXPECT_EQ(ours, bare) << "temperature " << temperature;
  }
}

}  // namespace
}  // namespace modeld::llm
