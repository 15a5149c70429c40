#include "internal/httpapi/native_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace modeld::httpapi {
namespace {

manager::Outcome SampleOutcome() {
  manager::Outcome o;
  o.model = "tiny";
  o.stats.prompt_tokens = 3;
  o.stats.completion_tokens = 5;
  o.stats.finish = llm::FinishReason::kLength;
  o.timings.generation_ms = 10;
  o.timings.tokens_per_second = 500;
  return o;
}

TEST(NativeFormatTest, SseTokenEvent) {
  NativeFormat f(NativeFormat::Kind::kSse);
  std::string out;
  f.AppendText(out, "a \"b\"\n");
  EXPECT_EQ(out, "event: token\ndata: {\"text\":\"a \\\"b\\\"\\n\"}\n\n");
  EXPECT_EQ(f.content_type(), "text/event-stream");
}

TEST(NativeFormatTest, SseDoneEventCarriesUsageAndTimings) {
  NativeFormat f(NativeFormat::Kind::kSse);
  std::string out;
  f.AppendDone(out, SampleOutcome());
  ASSERT_EQ(out.rfind("event: done\ndata: ", 0), 0u) << out;
  auto j = nlohmann::json::parse(out.substr(18));
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  for (const char* k :
       {"queue_ms", "switch_ms", "prompt_ms", "generation_ms", "tokens_per_second"}) {
    EXPECT_TRUE(j["timings"].contains(k)) << k;
  }
}

TEST(NativeFormatTest, NdjsonLinesHaveAType) {
  NativeFormat f(NativeFormat::Kind::kNdjson);
  std::string out;
  f.AppendText(out, "hi");
  f.AppendDone(out, SampleOutcome());
  f.AppendError(out, Status::Cancelled("cancelled: switched to model 'small'"));
  std::vector<nlohmann::json> lines;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(nlohmann::json::parse(out.substr(start, nl - start)));
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "token");
  EXPECT_EQ(lines[0]["text"], "hi");
  EXPECT_EQ(lines[1]["type"], "done");
  EXPECT_EQ(lines[1]["usage"]["completion_tokens"], 5);
  EXPECT_EQ(lines[2]["type"], "error");
  EXPECT_EQ(lines[2]["error"]["code"], "cancelled");
}

TEST(NativeFormatTest, CompleteBodyHasTheText) {
  NativeFormat f(NativeFormat::Kind::kSse);
  auto j = nlohmann::json::parse(f.CompleteBody(SampleOutcome(), "hello"));
  EXPECT_EQ(j["text"], "hello");
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["finish_reason"], "length");
}

}  // namespace
}  // namespace modeld::httpapi
