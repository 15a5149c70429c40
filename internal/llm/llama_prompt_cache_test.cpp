#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "internal/llm/llama_backend.h"
#include "internal/llm/llama_model.h"
#include "internal/llm/llama_test_util.h"

// The prompt cache on real llama.cpp: a finished request's KV cells serve the
// next prompt's prefix in the context, and the host-RAM cache brings them
// back after the model was freed and loaded again.

namespace modeld::llm {
namespace {

using testutil::CollectingSink;
using testutil::Greedy;
using testutil::kPrompt;
using testutil::LoadOrFail;
using testutil::Outcome;
using testutil::TinyModelPath;

// A conversation's first turn and its second, which extends it.
const std::string kTurn1 = "the quick brown fox jumps over the lazy dog";
const std::string kTurn2 = kTurn1 + " and then it runs far away into the woods";

// ---- in the context

TEST(LlamaPromptCacheTest, CachedAndUncachedGreedyRunsGiveTheSameText) {
  ModelPtr warm = LoadOrFail(TinyModelPath(), 1024);
  ModelPtr cold = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(warm, nullptr);
  ASSERT_NE(cold, nullptr);
  ASSERT_TRUE(testutil::Generate(*warm, Greedy(kTurn1, 8)).status.ok());
  const Outcome cached = testutil::Generate(*warm, Greedy(kTurn2, 32));
  const Outcome uncached = testutil::Generate(*cold, Greedy(kTurn2, 32));
  ASSERT_TRUE(cached.status.ok());
  ASSERT_TRUE(uncached.status.ok());
  EXPECT_GT(cached.stats.cached_tokens, 5);
  EXPECT_LT(cached.stats.cached_tokens, cached.stats.prompt_tokens);
  EXPECT_EQ(uncached.stats.cached_tokens, 0);
  EXPECT_EQ(cached.text, uncached.text);
  EXPECT_EQ(cached.stats.completion_tokens, 32);
}

TEST(LlamaPromptCacheTest, AWholeCachedPromptDecodesOnlyItsLastToken) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  const Outcome first = testutil::Generate(*model, Greedy(kPrompt, 16));
  const Outcome again = testutil::Generate(*model, Greedy(kPrompt, 16));
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(first.stats.cached_tokens, 0);
  EXPECT_EQ(again.stats.cached_tokens, again.stats.prompt_tokens - 1);
  EXPECT_EQ(again.text, first.text);
}

TEST(LlamaPromptCacheTest, AnUnrelatedPromptReusesNothing) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(testutil::Generate(*model, Greedy(kPrompt, 8)).status.ok());
  const Outcome other = testutil::Generate(*model, Greedy("zebra crossing", 8));
  ASSERT_TRUE(other.status.ok());
  EXPECT_EQ(other.stats.cached_tokens, 0);
}

// With several kept caches (the second request shares no prefix with the
// first, so it takes another sequence), the request goes to the one sharing
// its longest prefix.
TEST(LlamaPromptCacheTest, TheLongestMatchingCacheIsChosen) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(
      testutil::Generate(*model, Greedy("one conversation about apples and pears", 4)).status.ok());
  const Outcome boats = testutil::Generate(*model, Greedy("another conversation about boats", 4));
  ASSERT_TRUE(boats.status.ok());
  const Outcome next =
      testutil::Generate(*model, Greedy("another conversation about boats and the sea", 4));
  ASSERT_TRUE(next.status.ok());
  EXPECT_GE(next.stats.cached_tokens, boats.stats.prompt_tokens - 1);
}

// ---- in host RAM: a freed model's caches come back on its next load

struct CachingBackend {
  BackendPtr backend = LlamaBackend::Create(1, 64 << 20);
  ModelPtr Load(const std::string& path) {
    LoadSpec spec;
    spec.id = "cached-model";
    spec.path = path;
    spec.ctx_size = 1024;
    spec.deliver_interval = std::chrono::microseconds(0);
    LoadControl control;
    Result<ModelPtr> m = backend->Load(spec, control);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  // Runs kTurn1, frees the model as a switch would (its cache goes to host
  // RAM) and loads it again; null, with a failure, when nothing was saved.
  ModelPtr LoadAfterTurn1() {
    ModelPtr model = Load(TinyModelPath());
    if (model == nullptr) return nullptr;
    EXPECT_TRUE(testutil::Generate(*model, Greedy(kTurn1, 8)).status.ok());
    model.reset();
    if (backend->prompt_cache_bytes() == 0) {
      ADD_FAILURE() << "freeing the model saved no cache in host RAM";
      return nullptr;
    }
    return Load(TinyModelPath());
  }
};

TEST(LlamaPromptCacheTest, CachesSurviveAReloadInHostRamAndGiveTheSameText) {
  CachingBackend cb;
  ModelPtr model = cb.LoadAfterTurn1();
  ASSERT_NE(model, nullptr);
  const Outcome restored = testutil::Generate(*model, Greedy(kTurn2, 24));
  ASSERT_TRUE(restored.status.ok());
  EXPECT_GT(restored.stats.cached_tokens, 5);
  EXPECT_TRUE(restored.stats.cache_from_host);
  EXPECT_EQ(cb.backend->prompt_cache_bytes(), 0u) << "taken out while it is in the context";
  ModelPtr cold = LoadOrFail(TinyModelPath(), 1024);
  ASSERT_NE(cold, nullptr);
  const Outcome uncached = testutil::Generate(*cold, Greedy(kTurn2, 24));
  EXPECT_EQ(restored.text, uncached.text);
}

TEST(LlamaPromptCacheTest, AChangedModelFileIsNeverServedFromTheHostCache) {
  const std::string path = testutil::TempDir() + "/changing.gguf";
  std::filesystem::copy_file(TinyModelPath(), path,
                             std::filesystem::copy_options::overwrite_existing);
  CachingBackend cb;
  ModelPtr model = cb.Load(path);
  ASSERT_NE(model, nullptr);
  ASSERT_TRUE(testutil::Generate(*model, Greedy(kPrompt, 8)).status.ok());
  model.reset();
  ASSERT_GT(cb.backend->prompt_cache_bytes(), 0u);
  // A new file under the same name (as a user replacing a model would).
  std::filesystem::remove(path);
  std::filesystem::copy_file(TinyModelPath(), path);
  model = cb.Load(path);
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(cb.backend->prompt_cache_bytes(), 0u) << "the stale entries were dropped";
  const Outcome r = testutil::Generate(*model, Greedy(kPrompt, 8));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.cached_tokens, 0);
}

// A request cancelled while its cache is being restored (the flag is set
// before Start returns) ends cancelled at the next step, and the restored
// cells still serve the next request.
TEST(LlamaPromptCacheTest, ACancelDuringARestoreLosesNothing) {
  CachingBackend cb;
  ModelPtr model = cb.LoadAfterTurn1();
  ASSERT_NE(model, nullptr);
  GenerateParams p = Greedy(kTurn2, 8);
  Result<PreparedPrompt> prompt = model->Prepare(p);
  ASSERT_TRUE(prompt.ok());
  CollectingSink sink;
  std::atomic<bool> cancel{true};  // the client left while the state was restored
  GenerateStats stats;
  model->Start(0, std::move(prompt).value(), p, sink, cancel, stats);
  EXPECT_TRUE(stats.cache_from_host);
  std::vector<SeqEnd> ended;
  model->Step(ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].status.code(), Code::kCancelled);
  EXPECT_EQ(sink.started.load(), 0);
  const Outcome next = testutil::Generate(*model, Greedy(kTurn2, 8));
  ASSERT_TRUE(next.status.ok());
  EXPECT_GT(next.stats.cached_tokens, 5) << "the restored cells were kept";
  EXPECT_FALSE(next.stats.cache_from_host);
}

// A switch right after a restore (the request cancelled, the model freed)
// saves the restored cache back to host RAM, where the next load finds it.
TEST(LlamaPromptCacheTest, ASwitchDuringARestoreSavesTheCacheAgain) {
  CachingBackend cb;
  ModelPtr model = cb.LoadAfterTurn1();
  ASSERT_NE(model, nullptr);
  GenerateParams p = Greedy(kTurn2, 8);
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  GenerateStats stats;
  model->Start(0, model->Prepare(p).value(), p, sink, cancel, stats);
  EXPECT_TRUE(stats.cache_from_host);
  cancel = true;  // the switch cancels it; the worker steps it out, then frees
  std::vector<SeqEnd> ended;
  while (ended.empty()) model->Step(ended);
  model.reset();
  EXPECT_GT(cb.backend->prompt_cache_bytes(), 0u);
  model = cb.Load(TinyModelPath());
  ASSERT_NE(model, nullptr);
  const Outcome back = testutil::Generate(*model, Greedy(kTurn2, 8));
  ASSERT_TRUE(back.status.ok());
  EXPECT_TRUE(back.stats.cache_from_host);
  EXPECT_GT(back.stats.cached_tokens, 5);
}

}  // namespace
}  // namespace modeld::llm
