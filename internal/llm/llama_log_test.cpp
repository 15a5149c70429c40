#include "internal/llm/llama_log.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "internal/log/log.h"

namespace modeld::llm {
namespace {

// Routes modeld's log into a string for the test's lifetime.
class LogSink {
 public:
  LogSink() { log::SetSinkForTest(&text_); }
  ~LogSink() { log::SetSinkForTest(nullptr); }
  std::vector<nlohmann::json> Lines() const {
    std::vector<nlohmann::json> lines;
    std::istringstream in(text_);
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

 private:
  std::string text_;
};

TEST(LlamaLogTest, AssemblesContinuedWarningIntoOneLine) {
  LogSink sink;
  LlamaLogForTest(GGML_LOG_LEVEL_WARN, "first part");
  LlamaLogForTest(GGML_LOG_LEVEL_CONT, ", second part\n");
  const auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["msg"], "llama: first part, second part");
}

TEST(LlamaLogTest, DropsDebugAndInfoAtDefaultLevel) {
  LogSink sink;
  LlamaLogForTest(GGML_LOG_LEVEL_DEBUG, "debug detail\n");
  LlamaLogForTest(GGML_LOG_LEVEL_INFO, "loading");
  LlamaLogForTest(GGML_LOG_LEVEL_CONT, "...\n");
  LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "bad thing\n");
  const auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_EQ(lines[0]["msg"], "llama: bad thing");
}

TEST(LlamaLogTest, UnterminatedLineEndsAtNextMessage) {
  LogSink sink;
  LlamaLogForTest(GGML_LOG_LEVEL_WARN, "no newline");
  LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "next\n");
  const auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "llama: no newline");
  EXPECT_EQ(lines[1]["msg"], "llama: next");
}

TEST(LlamaLogTest, ErrorsAfterCancelAreQuietOnThatThreadOnly) {
  LogSink sink;
  std::atomic<bool> cancel{false};
  {
    LlamaCancelQuiet quiet(cancel);
    LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "real error\n");
    cancel = true;
    LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "decode: failed, ret = 2\n");
    LlamaLogForTest(GGML_LOG_LEVEL_WARN, "removing memory module entries\n");
  }
  LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "after scope\n");
  const auto lines = sink.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "llama: real error");
  EXPECT_EQ(lines[1]["msg"], "llama: after scope");
}

TEST(LlamaLogTest, CaptureKeepsFirstErrorOnlyWhileAlive) {
  LogSink sink;
  LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "before capture\n");
  {
    LlamaErrorCapture capture;
    EXPECT_EQ(capture.FirstError(), "");
    LlamaLogForTest(GGML_LOG_LEVEL_WARN, "just a warning\n");
    LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "load: error loading model: ");
    LlamaLogForTest(GGML_LOG_LEVEL_CONT, "tensor out of bounds\n");
    LlamaLogForTest(GGML_LOG_LEVEL_ERROR, "load: failed to load model\n");
    EXPECT_EQ(capture.FirstError(), "load: error loading model: tensor out of bounds");
  }
  LlamaErrorCapture later;
  EXPECT_EQ(later.FirstError(), "");
}

}  // namespace
}  // namespace modeld::llm
