#include <gtest/gtest.h>
#include <llama.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "internal/llm/llama_model.h"
#include "internal/llm/llama_test_util.h"
#include "internal/llm/utf8_stream.h"

// The batch engine on real llama.cpp: several sequences stepped together in
// one context, each with its own limits, cancellation and stats; chunked
// prefill; and no allocations per token per sequence beyond llama.cpp's.

namespace modeld::llm {
namespace {

using testutil::CollectingSink;
using testutil::Greedy;
using testutil::kPrompt;
using testutil::LoadOrFail;
using testutil::NonAllocatingSink;
using testutil::TinyModelPath;

// One sequence's request and what it produced.
struct SeqRun {
  GenerateParams params;
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  bool ended = false;
  Status status;
};

// Starts each run in its own slot and steps until all have ended; `each_step`
// runs after every step. Returns the number of steps.
int RunAll(Model& model, std::vector<std::unique_ptr<SeqRun>>& runs,
           const std::function<void(int step)>& each_step = nullptr) {
  for (size_t i = 0; i < runs.size(); ++i) {
    Result<PreparedPrompt> prompt = model.Prepare(runs[i]->params);
    EXPECT_TRUE(prompt.ok()) << prompt.status().message();
    if (!prompt.ok()) return 0;
    model.Start(static_cast<int>(i), std::move(prompt).value(), runs[i]->params, runs[i]->sink,
                runs[i]->cancel, runs[i]->stats);
  }
  std::vector<SeqEnd> ended;
  int steps = 0;
  size_t done = 0;
  while (done < runs.size() && steps < 100000) {
    ended.clear();
    model.Step(ended);
    ++steps;
    for (const SeqEnd& e : ended) {
      SeqRun& r = *runs[static_cast<size_t>(e.seq)];
      EXPECT_FALSE(r.ended) << "sequence " << e.seq << " ended twice";
      r.ended = true;
      r.status = e.status;
      ++done;
    }
    if (each_step) each_step(steps);
  }
  return steps;
}

// Finished sequences keep their cells as a prompt cache; a request that
// needs the whole context still gets every cell (the caches give way).
void ExpectAllCellsReclaimable(Model& model) {
  EXPECT_FALSE(model.busy());
  GenerateParams p = Greedy("reclaim", 1 << 20);
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model.Generate(p, sink, cancel, stats).ok());
  EXPECT_EQ(stats.prompt_tokens + stats.completion_tokens - 1, model.n_ctx());
  EXPECT_EQ(model.preemptions(), 0) << "a kept cache is dropped, not a running sequence";
}

std::unique_ptr<SeqRun> MakeRun(const std::string& prompt, int max_tokens) {
  auto r = std::make_unique<SeqRun>();
  r->params = Greedy(prompt, max_tokens);
  return r;
}

TEST(LlamaEngineTest, SequencesWithDifferentLimitsAllComplete) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(model->max_sequences(), 4);
  std::vector<std::unique_ptr<SeqRun>> runs;
  runs.push_back(MakeRun(kPrompt, 5));
  runs.push_back(MakeRun("another prompt entirely", 17));
  runs.push_back(MakeRun("caf\xC3\xA9 \xF0\x9F\x98\x80", 40));
  runs[2]->params.sampling.temperature = 1.2f;
  runs[2]->params.sampling.seed = 3;
  RunAll(*model, runs);
  const int want[] = {5, 17, 40};
  for (size_t i = 0; i < runs.size(); ++i) {
    const SeqRun& r = *runs[i];
    ASSERT_TRUE(r.ended);
    EXPECT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.stats.completion_tokens, want[i]) << "sequence " << i;
    EXPECT_EQ(r.stats.finish, FinishReason::kLength);
    EXPECT_EQ(r.sink.started.load(), 1);
    EXPECT_TRUE(IsValidUtf8(r.sink.text));
    EXPECT_GT(r.stats.prompt_tokens, 1);
  }
  ExpectAllCellsReclaimable(*model);
}

// Seeded sampling is a property of the sequence, not of its neighbours'
// draws: the same seed beside others draws the same way as alone is not
// promised (batch arithmetic may differ), but two runs of the same batch are.
TEST(LlamaEngineTest, TheSameBatchIsReproducible) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  std::string first[3];
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<SeqRun>> runs;
    for (int i = 0; i < 3; ++i) {
      runs.push_back(MakeRun(kPrompt + " " + std::to_string(i), 24));
      runs.back()->params.sampling.temperature = 0.9f;
      runs.back()->params.sampling.seed = 100 + i;
    }
    RunAll(*model, runs);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(runs[i]->status.ok());
      if (round == 0) {
        first[i] = runs[i]->sink.text;
      } else {
        EXPECT_EQ(runs[i]->sink.text, first[i]) << "sequence " << i;
      }
    }
  }
}

TEST(LlamaEngineTest, CancellingOneSequenceLeavesTheOthersRunning) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  std::vector<std::unique_ptr<SeqRun>> runs;
  for (int i = 0; i < 3; ++i) runs.push_back(MakeRun(kPrompt, 60));
  int tokens_at_cancel = -1;
  RunAll(*model, runs, [&](int step) {
    if (step == 10) {
      runs[1]->cancel = true;
      tokens_at_cancel = runs[1]->stats.completion_tokens;
    }
  });
  EXPECT_EQ(runs[1]->status.code(), Code::kCancelled);
  // Cancelled before the next step's decode: no token after the flag.
  EXPECT_EQ(runs[1]->stats.completion_tokens, tokens_at_cancel);
  for (int i : {0, 2}) {
    EXPECT_TRUE(runs[i]->status.ok()) << runs[i]->status.message();
    EXPECT_EQ(runs[i]->stats.completion_tokens, 60);
  }
}

// A long prompt is prefilled LlamaModel::kPrefillChunk tokens per step while
// the generating sequence gets one token every step: it stalls by at most
// one chunk per step, never for the whole prompt.
TEST(LlamaEngineTest, ALongPromptIsPrefilledInChunksBesideAGeneratingSequence) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 4096);
  ASSERT_NE(model, nullptr);
  std::string long_prompt;
  for (int i = 0; i < 700; ++i) long_prompt += "hello world ";
  std::vector<std::unique_ptr<SeqRun>> runs;
  runs.push_back(MakeRun(kPrompt, 200));
  // Start the short one first so it is generating when the long one arrives.
  Result<PreparedPrompt> p0 = model->Prepare(runs[0]->params);
  ASSERT_TRUE(p0.ok());
  model->Start(0, std::move(p0).value(), runs[0]->params, runs[0]->sink, runs[0]->cancel,
               runs[0]->stats);
  std::vector<SeqEnd> ended;
  model->Step(ended);
  ASSERT_EQ(runs[0]->sink.started.load(), 1);
  const int before = runs[0]->stats.completion_tokens;

  SeqRun long_run;
  long_run.params = Greedy(long_prompt, 4);
  Result<PreparedPrompt> p1 = model->Prepare(long_run.params);
  ASSERT_TRUE(p1.ok());
  const int n_long = static_cast<int>(p1->tokens.size());
  ASSERT_GT(n_long, 2 * LlamaModel::kPrefillChunk);
  model->Start(1, std::move(p1).value(), long_run.params, long_run.sink, long_run.cancel,
               long_run.stats);
  int steps = 0;
  while (long_run.sink.started.load() == 0 && steps < 100) {
    model->Step(ended);
    ++steps;
  }
  const int chunks = (n_long + LlamaModel::kPrefillChunk - 1) / LlamaModel::kPrefillChunk;
  EXPECT_EQ(steps, chunks);
  // One token for the generating sequence in every one of those steps.
  EXPECT_EQ(runs[0]->stats.completion_tokens - before, steps);
  runs[0]->cancel = true;
  long_run.cancel = true;
  while (model->busy()) model->Step(ended);
  EXPECT_FALSE(model->busy());
}

TEST(LlamaEngineTest, ARequestMayUseTheWholeContext) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 256);
  ASSERT_NE(model, nullptr);
  GenerateParams p = Greedy(kPrompt, 10000);
  Result<PreparedPrompt> prompt = model->Prepare(p);
  ASSERT_TRUE(prompt.ok());
  EXPECT_EQ(prompt->cells, 256);
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  ASSERT_TRUE(model->Generate(p, sink, cancel, stats).ok());
  EXPECT_EQ(stats.finish, FinishReason::kLength);
  // Every cell filled; the last token is sampled but never decoded, so it
  // needs no cell of its own.
  EXPECT_EQ(stats.prompt_tokens + stats.completion_tokens - 1, 256);
}

// Two sequences that together need more cells than the context has: the
// younger gives its cells back when the cache is full and is recomputed
// later. Both complete in full; neither fails because of the other.
TEST(LlamaEngineTest, AFullCachePreemptsTheYoungestAndBothComplete) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 256);
  ASSERT_NE(model, nullptr);
  std::vector<std::unique_ptr<SeqRun>> runs;
  runs.push_back(MakeRun(kPrompt, 200));
  runs.push_back(MakeRun("a second prompt", 200));
  runs[1]->params.sampling.temperature = 1.0f;
  runs[1]->params.sampling.seed = 9;
  RunAll(*model, runs);
  for (const auto& r : runs) {
    ASSERT_TRUE(r->ended);
    EXPECT_TRUE(r->status.ok()) << r->status.message();
    EXPECT_EQ(r->stats.completion_tokens, 200);
    EXPECT_EQ(r->sink.started.load(), 1) << "a resumed sequence starts once";
    EXPECT_TRUE(IsValidUtf8(r->sink.text));
  }
  EXPECT_GE(model->preemptions(), 1);
  EXPECT_FALSE(model->busy());
}

// Allocations made on this thread by stepping kSeqs greedy sequences of `n`
// tokens each through the engine.
long EngineAllocations(Model& model, int n) {
  constexpr int kSeqs = 3;
  std::vector<GenerateParams> params(kSeqs, Greedy(kPrompt, n));
  std::vector<NonAllocatingSink> sinks(kSeqs);
  std::vector<GenerateStats> stats(kSeqs);
  std::atomic<bool> cancel{false};
  std::vector<PreparedPrompt> prompts;
  for (int i = 0; i < kSeqs; ++i) prompts.push_back(model.Prepare(params[i]).value());
  std::vector<SeqEnd> ended;
  ended.reserve(kSeqs);
  const long before = testutil::ThreadAllocations();
  for (int i = 0; i < kSeqs; ++i) {
    model.Start(i, std::move(prompts[i]), params[i], sinks[i], cancel, stats[i]);
  }
  while (ended.size() < kSeqs) model.Step(ended);
  const long allocations = testutil::ThreadAllocations() - before;
  for (int i = 0; i < kSeqs; ++i) EXPECT_EQ(stats[i].completion_tokens, n);
  return allocations;
}

// The same work done with bare llama.cpp calls: one batch per step holding
// each sequence's next token, argmax per sequence, the piece rendered.
long BareAllocations(llama_context* ctx, int n) {
  constexpr int kSeqs = 3;
  const llama_vocab* vocab = llama_model_get_vocab(llama_get_model(ctx));
  const int n_vocab = llama_vocab_n_tokens(vocab);
  std::vector<llama_token> prompt(kPrompt.size() + 4);
  prompt.resize(llama_tokenize(vocab, kPrompt.data(), static_cast<int32_t>(kPrompt.size()),
                               prompt.data(), static_cast<int32_t>(prompt.size()),
                               llama_vocab_get_add_bos(vocab), false));
  llama_batch batch = llama_batch_init(512, 0, 1);
  const long before = testutil::ThreadAllocations();
  llama_memory_clear(llama_get_memory(ctx), false);
  auto add = [&batch](llama_token t, int pos, int seq, bool logits) {
    const int i = batch.n_tokens++;
    batch.token[i] = t;
    batch.pos[i] = pos;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = seq;
    batch.logits[i] = logits;
  };
  for (int s = 0; s < kSeqs; ++s) {
    for (size_t j = 0; j < prompt.size(); ++j) {
      add(prompt[j], static_cast<int>(j), s, j + 1 == prompt.size());
    }
  }
  int n_past = static_cast<int>(prompt.size());
  char piece[256];
  for (int t = 1; t <= n; ++t) {
    EXPECT_EQ(llama_decode(ctx, batch), 0);
    llama_token next[kSeqs];
    int idx = 0;
    for (int i = 0; i < batch.n_tokens; ++i) {
      if (!batch.logits[i]) continue;
      const float* logits = llama_get_logits_ith(ctx, i);
      llama_token best = 0;
      for (llama_token v = 1; v < n_vocab; ++v) {
        if (logits[v] > logits[best]) best = v;
      }
      llama_token_to_piece(vocab, best, piece, sizeof(piece), 0, false);
      next[idx++] = best;
    }
    batch.n_tokens = 0;
    if (t == n) break;
    for (int s = 0; s < kSeqs; ++s) add(next[s], n_past, s, true);
    ++n_past;
  }
  for (int s = 0; s < kSeqs; ++s) llama_memory_seq_rm(llama_get_memory(ctx), s, -1, -1);
  const long allocations = testutil::ThreadAllocations() - before;
  llama_batch_free(batch);
  return allocations;
}

// The extra tokens of longer sequences cost the engine exactly the
// allocations llama.cpp itself makes for them: stepping, sampling, text
// conversion and hand-over add none per token per sequence.
TEST(LlamaEngineTest, StepsAddNoAllocationsPerTokenToLlamaCpps) {
  if (!testutil::CountsAllocations()) GTEST_SKIP() << "a sanitizer build counts no allocations";
  constexpr int kCtx = 1024, kShort = 40, kLong = 120;
  ModelPtr model = LoadOrFail(TinyModelPath(), kCtx);
  ASSERT_NE(model, nullptr);
  testutil::BareLlama llama = testutil::LoadBare(TinyModelPath(), kCtx);
  ASSERT_NE(llama.ctx, nullptr);

  EngineAllocations(*model, kLong);  // warms the reusable buffers
  const long ours = EngineAllocations(*model, kLong) - EngineAllocations(*model, kShort);
  BareAllocations(llama.ctx.get(), kLong);
  const long bare =
      BareAllocations(llama.ctx.get(), kLong) - BareAllocations(llama.ctx.get(), kShort);
  std::printf("3 sequences: llama.cpp allocates %.2f times per token per sequence\n",
              static_cast<double>(bare) / (3 * (kLong - kShort)));
  EXPECT_EQ(ours, bare);
}

}  // namespace
}  // namespace modeld::llm
