#include <gtest/gtest.h>
#include <llama.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

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
using testutil::NonAllocatingSink;
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

TEST(LlamaModelStreamTest, IdleSinkGetsTextTokenByToken) {
  ModelPtr model = LoadOrFail(TinyModelPath());  // deliver_interval 0
  ASSERT_NE(model, nullptr);
  const Outcome r = Generate(*model, Greedy(kPrompt, 50));
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.stats.completion_tokens, 50);
  // One hand-over per token, except where UTF-8 hold-back left nothing to hand.
  EXPECT_GT(r.delivered, 10);
  EXPECT_LE(r.delivered, 50);
}

TEST(LlamaModelStreamTest, BusySinkGetsOneBatchWithAllText) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome reference = Generate(*model, Greedy(kPrompt, 50));
  ASSERT_TRUE(reference.status.ok());
  CollectingSink never_idle;
  never_idle.SetWants(false);
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model->Generate(Greedy(kPrompt, 50), never_idle, cancel, stats).ok());
  EXPECT_EQ(never_idle.delivered.load(), 1);
  EXPECT_EQ(never_idle.text, reference.text);
}

// The coalescing interval bounds hand-overs even for an idle sink: with one
// far longer than the run, the first token goes at once and the rest at the end.
TEST(LlamaModelStreamTest, DeliverIntervalCoalescesAnIdleSinksBatches) {
  ModelPtr per_token = LoadOrFail(TinyModelPath(), 1024);
  ModelPtr coalescing = LoadOrFail(TinyModelPath(), 1024, "", std::chrono::hours(1));
  ASSERT_NE(per_token, nullptr);
  ASSERT_NE(coalescing, nullptr);
  const Outcome reference = Generate(*per_token, Greedy(kPrompt, 300));
  const Outcome r = Generate(*coalescing, Greedy(kPrompt, 300));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.completion_tokens, 300);
  EXPECT_GE(r.delivered, 1);
  EXPECT_LE(r.delivered, 2);
  EXPECT_EQ(r.text, reference.text);
}

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
  if (!testutil::CountsAllocations()) GTEST_SKIP() << "a sanitizer build counts no allocations";
  constexpr int kCtx = 512, kShort = 60, kLong = 200;
  ModelPtr model = LoadOrFail(TinyModelPath(), kCtx);
  ASSERT_NE(model, nullptr);
  testutil::BareLlama llama = testutil::LoadBare(TinyModelPath(), kCtx);
  ASSERT_NE(llama.ctx, nullptr);

  for (float temperature : {0.0f, 1.0f}) {
    GenerateParams p = Greedy(kPrompt, kLong);
    p.sampling.temperature = temperature;
    p.sampling.seed = 5;
    p.sampling.frequency_penalty = temperature > 0 ? 0.3f : 0.0f;
    p.stop = {"zzzz-not-there"};
    GenerateAllocations(*model, p, kLong);  // warms the reusable buffers
    const long ours =
        GenerateAllocations(*model, p, kLong) - GenerateAllocations(*model, p, kShort);
    BareRequestAllocations(llama.ctx.get(), p.sampling, kLong);
    const long bare = BareRequestAllocations(llama.ctx.get(), p.sampling, kLong) -
                      BareRequestAllocations(llama.ctx.get(), p.sampling, kShort);
    std::printf("temperature %.0f: llama.cpp allocates %.1f times per token\n", temperature,
                static_cast<double>(bare) / (kLong - kShort));
    EXPECT_EQ(ours, bare) << "temperature " << temperature;
  }
}

}  // namespace
}  // namespace modeld::llm
