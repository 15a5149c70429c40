// Issue 3, rule 21: structured JSON lines on stderr — one per request, one
// per load or switch, the startup line — and never the prompt or the
// generated text at info level.

#include <csignal>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class LogsTest : public BlackboxTest {
 protected:
  // The request line for the n-th /infer request (0-based), waiting for it.
  std::optional<json> InferLine(Server* s, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<json> lines;
      for (auto& l : s->LogsWithMsg("request")) {
        if (Str(l, "path") == "/infer") lines.push_back(l);
      }
      if (lines.size() > n) return lines[n];
      std::this_thread::sleep_for(Millis(20));
    }
    return std::nullopt;
  }
};

TEST_F(LogsTest, ListeningLineHasHostAndPort) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  auto lines = s->LogsWithMsg("listening");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Str(lines[0], "host"), "127.0.0.1");
  EXPECT_EQ(lines[0]["port"], s->port());
  EXPECT_GT(s->port(), 0);
  EXPECT_EQ(Str(lines[0], "level"), "info");
  EXPECT_FALSE(Str(lines[0], "ts").empty());
}

TEST_F(LogsTest, RequestLineHasMethodPathStatusModelTokensAndOutcome) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  auto r = Infer(s->port(), InferBody("log me", 6));
  ExpectCompleted(r, "tiny");
  auto line = InferLine(s, 0);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Str(*line, "method"), "POST");
  EXPECT_EQ(Str(*line, "path"), "/infer");
  EXPECT_EQ((*line)["status"], 200);
  EXPECT_EQ(Str(*line, "model"), "tiny");
  EXPECT_EQ((*line)["prompt_tokens"], (*r.done)["usage"]["prompt_tokens"]) << *line;
  EXPECT_EQ((*line)["completion_tokens"], (*r.done)["usage"]["completion_tokens"]) << *line;
  EXPECT_TRUE((*line)["ms"].is_number()) << *line;
  EXPECT_GE((*line)["ms"].get<double>(), 0.0);
  EXPECT_EQ(Str(*line, "outcome"), "ok");
}

TEST_F(LogsTest, ErrorRequestsAreLoggedWithTheirCode) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  PostJson(s->port(), "/infer", InferBody("x", 2, {{"model", "nope"}}));
  Request(s->port(), "POST", "/infer", "{bad", {{"content-type", "application/json"}});
  auto notfound = InferLine(s, 0);
  auto invalid = InferLine(s, 1);
  ASSERT_TRUE(notfound && invalid);
  EXPECT_EQ((*notfound)["status"], 404);
  EXPECT_EQ(Str(*notfound, "outcome"), "model_not_found");
  EXPECT_EQ((*invalid)["status"], 400);
  EXPECT_EQ(Str(*invalid, "outcome"), "invalid_request");
}

TEST_F(LogsTest, SwitchLineHasFromToTimesAndOutcome) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  auto startup = s->LogsWithMsg("switch");
  ASSERT_EQ(startup.size(), 1u) << "the default model's load is one switch line";
  EXPECT_EQ(Str(startup[0], "to"), "tiny");
  EXPECT_TRUE(startup[0].contains("from") && startup[0]["from"].is_null()) << startup[0];
  ExpectCompleted(Infer(s->port(), InferBody("switch", 2, {{"model", "tiny-b"}})), "tiny-b");
  auto line = s->WaitForLog([](const json& l) { return IsSwitchTo(l, "tiny-b"); }, Millis(3000));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Str(*line, "from"), "tiny");
  EXPECT_EQ(Str(*line, "outcome"), "ok");
  for (const char* k : {"load_ms", "warmup_ms", "free_ms", "model_ms", "context_ms"}) {
    ASSERT_TRUE(line->contains(k) && (*line)[k].is_number()) << k << *line;
    EXPECT_GE((*line)[k].get<double>(), 0.0);
  }
  EXPECT_GT((*line)["load_ms"].get<double>(), 0.0);
  EXPECT_GT((*line)["model_ms"].get<double>(), 0.0);
  EXPECT_GT((*line)["context_ms"].get<double>(), 0.0);
  // The load is its two phases (each rounded to a microsecond).
  EXPECT_LE((*line)["model_ms"].get<double>() + (*line)["context_ms"].get<double>(),
            (*line)["load_ms"].get<double>() + 0.01)
      << *line;
  // "error" only says something on a failed load (see load_failure_test).
  EXPECT_TRUE(!line->contains("error") || (*line)["error"].is_null() || Str(*line, "error").empty())
      << *line;
}

TEST_F(LogsTest, PromptAndGeneratedTextNeverAppearInTheLog) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::string marker = "MARKER-q7Zx93-secret";
  auto r = Infer(s->port(), InferBody("please keep " + marker + " private", 48,
                                      {{"stream", false}, {"temperature", 1.0}, {"seed", 3}}));
  ExpectCompleted(r, "tiny");
  ASSERT_GE(r.text.size(), 20u) << "need a longer generation to look for";
  auto streamed = Infer(s->port(), InferBody(marker + " streamed", 8));
  ExpectCompleted(streamed, "tiny");
  // Error paths must not echo it either.
  PostJson(s->port(), "/infer", InferBody(marker, 2, {{"model", "nope"}}));
  PostJson(s->port(), "/infer", InferBody(marker, 0));
  PostJson(s->port(), "/infer", {{"prompt", marker}, {"temperature", "hot"}});
  ASSERT_TRUE(InferLine(s, 4).has_value());
  std::string all;
  for (const auto& l : s->StderrLines()) all += l + "\n";
  EXPECT_EQ(all.find(marker), std::string::npos) << "the prompt was logged";
  EXPECT_EQ(all.find(r.text), std::string::npos) << "the generated text was logged";
}

TEST_F(LogsTest, EveryStderrLineIsJsonThroughAVariedSessionAndShutdown) {
  auto models = StandardModels();
  models.push_back({"ghost", "/nonexistent/ghost.gguf", "f16", ""});
  Server* s = StartServer(ConfigYaml("tiny", models), {}, "tiny");
  ASSERT_NE(s, nullptr);
  Infer(s->port(), InferBody("a", 4));
  Infer(s->port(), InferBody("b", 4, {{"model", "tiny-b"}}), StreamFormat::kNdjson);
  PostJson(s->port(), "/infer", InferBody("c", 4, {{"model", "ghost"}}));
  PostJson(s->port(), "/infer", InferBody("d", 4, {{"model", "nope"}}));
  Request(s->port(), "POST", "/infer", "{bad");
  Get(s->port(), "/models");
  Get(s->port(), "/readyz");
  {
    InferStream gone(s->port(), LongBody());
    gone.Next(Millis(5000));
    gone.Close();
  }
  ASSERT_TRUE(s->process().Signal(SIGTERM));
  auto exit = s->process().WaitExit(Millis(10000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  size_t n = 0;
  for (const auto& line : s->StderrLines()) {
    auto j = ParseLogLine(line);
    ASSERT_TRUE(j.has_value()) << "not JSON: " << line;
    for (const char* k : {"ts", "level", "msg"}) {
      EXPECT_TRUE(j->contains(k) && (*j)[k].is_string()) << k << " missing: " << line;
    }
    ++n;
  }
  EXPECT_GE(n, 8u);
  bool error_with_context = false;
  for (const auto& l : s->Logs()) {
    if ((Str(l, "level") == "error" || Str(l, "level") == "warn") &&
        l.dump().find("ghost") != std::string::npos) {
      error_with_context = true;
    }
  }
  EXPECT_TRUE(error_with_context) << "the failed load of ghost was not logged with context";
}

}  // namespace
}  // namespace modeld::blackbox
