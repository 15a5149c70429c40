#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "internal/llm/llama_backend.h"
#include "internal/llm/llama_test_util.h"

// Standby on real llama.cpp: a freed model's weights stay loaded within the
// budget, and loading it again creates only a context.

namespace modeld::llm {
namespace {

namespace fs = std::filesystem;
using testutil::Greedy;
using testutil::kPrompt;
using testutil::Outcome;
using testutil::TinyModelPath;

constexpr uint64_t kRoomForAll = uint64_t{1} << 30;

// A copy of a model file at a path of its own (standby keys by path).
std::string CopyOf(const std::string& from, const std::string& name) {
  const std::string to = testutil::TempDir() + "/" + name;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  return to;
}

struct StandbyBackend {
  explicit StandbyBackend(uint64_t budget) : backend(LlamaBackend::Create(1, 0, budget)) {}

  Result<ModelPtr> Load(const std::string& id, const std::string& path, int ctx_size = 512) {
    LoadSpec spec;
    spec.id = id;
    spec.path = path;
    spec.ctx_size = ctx_size;
    spec.deliver_interval = std::chrono::microseconds(0);
    control = std::make_unique<LoadControl>();
    return backend->Load(spec, *control);
  }
  ModelPtr LoadOrFail(const std::string& id, const std::string& path) {
    Result<ModelPtr> m = Load(id, path);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const StandbyModel& m : backend->standby()) ids.push_back(m.id);
    return ids;
  }

  BackendPtr backend;
  std::unique_ptr<LoadControl> control;  // of the last Load
};

TEST(LlamaStandbyTest, AFreedModelComesBackFromStandbyAndAnswersTheSame) {
  StandbyBackend sb(kRoomForAll);
  ModelPtr model = sb.LoadOrFail("a", TinyModelPath());
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(sb.control->from_standby);
  EXPECT_GT(sb.control->model_ms, 0.0);
  const Outcome before = testutil::Generate(*model, Greedy(kPrompt, 16));
  ASSERT_TRUE(before.status.ok());
  EXPECT_TRUE(sb.Ids().empty()) << "a loaded model is not in standby";

  model.reset();
  ASSERT_EQ(sb.Ids(), std::vector<std::string>{"a"});
  const std::vector<StandbyModel> kept = sb.backend->standby();
  EXPECT_GT(kept[0].bytes, 0u);
  EXPECT_EQ(sb.backend->standby_bytes(), kept[0].bytes);

  model = sb.LoadOrFail("a", TinyModelPath());
  ASSERT_NE(model, nullptr);
  EXPECT_TRUE(sb.control->from_standby);
  EXPECT_EQ(sb.control->model_ms, 0.0) << "no file was read";
  EXPECT_GT(sb.control->context_ms, 0.0);
  EXPECT_TRUE(sb.Ids().empty());
  EXPECT_EQ(sb.backend->standby_bytes(), 0u);
  ASSERT_TRUE(model->Warmup(std::atomic<bool>{false}).ok());
  const Outcome after = testutil::Generate(*model, Greedy(kPrompt, 16));
  ASSERT_TRUE(after.status.ok());
  EXPECT_EQ(after.text, before.text);
}

TEST(LlamaStandbyTest, AZeroBudgetKeepsNothing) {
  StandbyBackend sb(0);
  ModelPtr model = sb.LoadOrFail("a", TinyModelPath());
  ASSERT_NE(model, nullptr);
  model.reset();
  EXPECT_TRUE(sb.Ids().empty());
  model = sb.LoadOrFail("a", TinyModelPath());
  EXPECT_FALSE(sb.control->from_standby);
}

TEST(LlamaStandbyTest, EvictionByBytesDropsTheLeastRecentlyUsed) {
  const std::string a = CopyOf(TinyModelPath(), "standby-a.gguf");
  const std::string b = CopyOf(TinyModelPath(), "standby-b.gguf");
  uint64_t one = 0;  // what one tiny model counts
  {
    StandbyBackend probe(kRoomForAll);
    probe.LoadOrFail("a", a).reset();
    ASSERT_EQ(probe.backend->standby().size(), 1u);
    one = probe.backend->standby()[0].bytes;
  }
  // Room for one and a half: the second model evicts the first.
  StandbyBackend sb(one + one / 2);
  sb.LoadOrFail("a", a).reset();
  EXPECT_EQ(sb.Ids(), std::vector<std::string>{"a"});
  sb.LoadOrFail("b", b).reset();
  EXPECT_EQ(sb.Ids(), std::vector<std::string>{"b"});
  EXPECT_LE(sb.backend->standby_bytes(), one + one / 2);
  ModelPtr again = sb.LoadOrFail("a", a);
  EXPECT_FALSE(sb.control->from_standby) << "a was evicted";
  again.reset();
  EXPECT_EQ(sb.Ids(), std::vector<std::string>{"a"});
  sb.LoadOrFail("a", a);
  EXPECT_TRUE(sb.control->from_standby);
}

TEST(LlamaStandbyTest, AModelLargerThanTheBudgetIsFreed) {
  StandbyBackend sb(1024);
  sb.LoadOrFail("a", TinyModelPath()).reset();
  EXPECT_TRUE(sb.Ids().empty());
  EXPECT_EQ(sb.backend->standby_bytes(), 0u);
}

// The file was replaced (a new inode, as an atomic rename makes): the kept
// weights are stale, so the new file is read.
TEST(LlamaStandbyTest, AChangedFileIsLoadedFresh) {
  const std::string path = CopyOf(TinyModelPath(), "standby-changing.gguf");
  StandbyBackend sb(kRoomForAll);
  sb.LoadOrFail("a", path).reset();
  ASSERT_EQ(sb.Ids(), std::vector<std::string>{"a"});
  const std::string next = CopyOf(testutil::EogModelPath(), "standby-changing.gguf.tmp");
  fs::rename(next, path);
  ModelPtr model = sb.LoadOrFail("a", path);
  ASSERT_NE(model, nullptr);
  EXPECT_FALSE(sb.control->from_standby);
  EXPECT_EQ(sb.backend->standby_bytes(), 0u) << "the stale weights were freed";
  // The new file's model (always end-of-generation) answers, not the old one.
  const Outcome out = testutil::Generate(*model, Greedy(kPrompt, 16));
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.stats.completion_tokens, 0);
}

// The weights come from standby but no context fits next to them: standby
// is emptied, the file read again, and the error is the context's. The
// model has a wide KV cache (16 KiB per cell), so 4M cells ask for 64 GB in
// one allocation, which fails at once (a tiny model would need so many
// cells that llama.cpp spends minutes on their bookkeeping first).
TEST(LlamaStandbyTest, AFailedContextFromStandbyFallsBackToAFullLoadAndAClearError) {
  const std::string path = testutil::TempDir() + "/standby-wide-kv.gguf";
  ASSERT_TRUE(testutil::MakeModel("--preset tiny --n-embd 1024 --n-head 16 --n-head-kv 16", path));
  StandbyBackend sb(kRoomForAll);
  sb.LoadOrFail("small-ctx", path).reset();
  ASSERT_EQ(sb.Ids(), std::vector<std::string>{"small-ctx"});
  Result<ModelPtr> huge = sb.Load("huge-ctx", path, 4000000);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), Code::kLoadFailed);
  EXPECT_NE(huge.status().message().find("failed to create a context"), std::string::npos)
      << huge.status().message();
  EXPECT_FALSE(sb.control->from_standby);
  EXPECT_GT(sb.control->model_ms, 0.0) << "the file was read again";
  EXPECT_TRUE(sb.Ids().empty());
  // Nothing is left half-done: the model loads as usual.
  ModelPtr model = sb.LoadOrFail("small-ctx", path);
  ASSERT_NE(model, nullptr);
  EXPECT_TRUE(testutil::Generate(*model, Greedy(kPrompt, 4)).status.ok());
}

TEST(LlamaStandbyTest, ALoadFailureLeavesStandbyModelsUsable) {
  StandbyBackend sb(kRoomForAll);
  sb.LoadOrFail("a", TinyModelPath()).reset();
  const std::string garbage = testutil::TempDir() + "/standby-garbage.gguf";
  {
    std::FILE* f = std::fopen(garbage.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("not a gguf file at all", f);
    std::fclose(f);
  }
  EXPECT_FALSE(sb.Load("garbage", garbage).ok());
  EXPECT_FALSE(sb.Load("missing", testutil::TempDir() + "/no-such.gguf").ok());
  EXPECT_EQ(sb.Ids(), std::vector<std::string>{"a"});
  ModelPtr model = sb.LoadOrFail("a", TinyModelPath());
  ASSERT_NE(model, nullptr);
  EXPECT_TRUE(sb.control->from_standby);
  EXPECT_TRUE(testutil::Generate(*model, Greedy(kPrompt, 4)).status.ok());
}

}  // namespace
}  // namespace modeld::llm
