#include <gtest/gtest.h>
#include <llama.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "internal/llm/llama_model.h"
#include "internal/llm/llama_test_util.h"
#include "internal/llm/utf8_stream.h"

// How LlamaModel hands text to its sink: valid UTF-8 only, batched for busy
// sinks, and without allocating per token.

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

TEST(LlamaModelStreamTest, HotSampledTextIsAlwaysValidUtf8) {
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

TEST(LlamaModelStreamTest, BusySinkGetsOneBatchWithAllText) {
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

TEST(LlamaModelStreamTest, SlowSinkGetsFewerLargerBatches) {
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
  llama_memory_clear(llama_get_memory(ctx), false);
  std::vector<llama_token> prompt(kPrompt.size() + 4);
  prompt.resize(llama_tokenize(vocab, kPrompt.data(), static_cast<int32_t>(kPrompt.size()),
                               prompt.data(), static_cast<int32_t>(prompt.size()),
                               llama_vocab_get_add_bos(vocab), false));
  EXPECT_EQ(llama_decode(ctx, llama_batch_get_one(prompt.data(), prompt.size())), 0);
  llama_sampler* chain = nullptr;
  if (sp.temperature > 0) {
    chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(
        chain,
        llama_sampler_init_penalties(n_vocab, 64, 1.0f, sp.frequency_penalty, sp.presence_penalty));
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
TEST(LlamaModelStreamTest, PerTokenPathAddsNoAllocationsToLlamaCpps) {
  constexpr int kCtx = 512, kShort = 60, kLong = 200;
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
    const long ours =
        GenerateAllocations(*model, p, kLong) - GenerateAllocations(*model, p, kShort);
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
