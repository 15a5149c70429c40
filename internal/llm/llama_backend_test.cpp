#include "internal/llm/llama_backend.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "internal/llm/llama_model.h"
#include "internal/llm/llama_test_util.h"

namespace modeld::llm {
namespace {

namespace fs = std::filesystem;
using testutil::CollectingSink;
using testutil::Greedy;
using testutil::LoadOrFail;
using testutil::TempDir;
using testutil::TinyModelPath;

Result<ModelPtr> Load(const std::string& path, LoadControl& control, int ctx_size = 512) {
  LoadSpec spec;
  spec.id = "test-model";
  spec.path = path;
  spec.ctx_size = ctx_size;
  return LlamaBackend::Create(1)->Load(spec, control);
}

// Resident set size of this process in bytes.
long RssBytes() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

TEST(LlamaBackendTest, LoadsAndWarmsUp) {
  const std::string path = TinyModelPath();
  ASSERT_FALSE(path.empty());
  LoadControl control;
  Result<ModelPtr> model = Load(path, control);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_FLOAT_EQ(control.progress.load(), 1.0f);
  std::atomic<bool> cancel{false};
  EXPECT_TRUE((*model)->Warmup(cancel).ok());
}

TEST(LlamaBackendTest, ContextSizeZeroMeansTrainingContext) {
  ModelPtr model = LoadOrFail(TinyModelPath(), 0);
  ASSERT_NE(model, nullptr);
  auto* llama = dynamic_cast<LlamaModel*>(model.get());
  ASSERT_NE(llama, nullptr);
  EXPECT_EQ(llama->n_ctx(), 2048);  // the tiny preset's n_ctx_train
}

TEST(LlamaBackendTest, MissingFileIsLoadFailed) {
  LoadControl control;
  const std::string path = TempDir() + "/no-such-model.gguf";
  Result<ModelPtr> model = Load(path, control);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kLoadFailed);
  EXPECT_EQ(model.status().message(), "model file not found: " + path);
}

TEST(LlamaBackendTest, DirectoryIsLoadFailed) {
  LoadControl control;
  Result<ModelPtr> model = Load(TempDir(), control);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kLoadFailed);
}

TEST(LlamaBackendTest, TruncatedFileIsLoadFailedWithLlamaReason) {
  const std::string full = TinyModelPath();
  ASSERT_FALSE(full.empty());
  const std::string half = TempDir() + "/half.gguf";
  {
    std::ifstream in(full, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 1000u);
    std::ofstream(half, std::ios::binary).write(bytes.data(), bytes.size() / 2);
  }
  LoadControl control;
  Result<ModelPtr> model = Load(half, control);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kLoadFailed);
  EXPECT_NE(model.status().message().find("failed to load model 'test-model'"), std::string::npos)
      << model.status().message();
  // The reason is the error llama.cpp logged, captured from its log.
  EXPECT_EQ(model.status().message().find("gave no reason"), std::string::npos)
      << model.status().message();
}

TEST(LlamaBackendTest, NotAGgufFileIsLoadFailed) {
  const std::string path = TempDir() + "/garbage.gguf";
  std::ofstream(path) << "this is not a gguf file, just some text\n";
  LoadControl control;
  Result<ModelPtr> model = Load(path, control);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kLoadFailed);
}

TEST(LlamaBackendTest, AbortedLoadIsCancelled) {
  const std::string path = TinyModelPath();
  ASSERT_FALSE(path.empty());
  LoadControl control;
  control.abort = true;  // seen at the loader's first progress report
  Result<ModelPtr> model = Load(path, control);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kCancelled);
  EXPECT_EQ(model.status().message(), "load aborted");
  // The backend is still usable afterwards.
  LoadControl again;
  EXPECT_TRUE(Load(path, again).ok());
}

TEST(LlamaBackendTest, WarmupHonoursCancelThroughAbortCallback) {
  ModelPtr model = LoadOrFail(TinyModelPath());
  ASSERT_NE(model, nullptr);
  std::atomic<bool> cancel{true};
  Status st = model->Warmup(cancel);
  EXPECT_EQ(st.code(), Code::kCancelled) << st.message();
  // The aborted decode leaves the model usable.
  cancel = false;
  EXPECT_TRUE(model->Warmup(cancel).ok());
  CollectingSink sink;
  GenerateStats stats;
  EXPECT_TRUE(model->Generate(Greedy("hello", 4), sink, cancel, stats).ok());
  EXPECT_EQ(stats.completion_tokens, 4);
}

TEST(LlamaBackendTest, RepeatedLoadsDoNotGrowMemory) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator keeps freed memory in quarantine";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  GTEST_SKIP() << "a sanitizer's allocator keeps freed memory in quarantine";
#endif
#endif
  const std::string path = TinyModelPath();
  ASSERT_FALSE(path.empty());
  // As the manager does on a switch: free the model, load the next, and give
  // freed heap back once idle (ReleaseFreeMemory, not part of Load).
  BackendPtr backend = LlamaBackend::Create(1);
  LoadSpec spec;
  spec.id = "test-model";
  spec.path = path;
  spec.ctx_size = 256;
  auto cycle = [&] {
    LoadControl control;
    Result<ModelPtr> loaded = backend->Load(spec, control);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    ModelPtr model = std::move(loaded).value();
    std::atomic<bool> cancel{false};
    ASSERT_TRUE(model->Warmup(cancel).ok());
    model.reset();
    backend->ReleaseFreeMemory();
  };
  for (int i = 0; i < 3; ++i) cycle();
  const long before = RssBytes();
  for (int i = 0; i < 10; ++i) cycle();
  const long growth = RssBytes() - before;
  EXPECT_LT(growth, 8L << 20) << "RSS grew by " << growth << " bytes over 10 load/free cycles";
}

}  // namespace
}  // namespace modeld::llm
