// Issue 3, rules 5, 6, 9, 15 and 16: POST /infer on a loaded model — the SSE
// and ndjson streams, stream:false, max_tokens, greedy and seeded
// determinism, stop strings and valid UTF-8 in everything streamed.

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class InferTest : public BlackboxTest {
 protected:
  void SetUp() override {
    BlackboxTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = StartStandard("tiny");
    ASSERT_NE(server_, nullptr);
  }
  int port() const { return server_->port(); }
  Server* server_ = nullptr;
};

// Splits `s` into UTF-8 code points (s is valid UTF-8).
std::vector<std::string> CodePoints(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) {
      len = 4;
    } else if (c >= 0xE0) {
      len = 3;
    } else if (c >= 0xC0) {
      len = 2;
    }
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

TEST_F(InferTest, SseStreamHasTokenEventsThenDone) {
  auto r = Infer(port(), InferBody("The quick brown fox", 16));
  ExpectCompleted(r, "tiny");
  EXPECT_EQ(r.Header("content-type").rfind("text/event-stream", 0), 0u);
  ASSERT_GE(r.events.size(), 2u) << r.Describe();
  for (size_t i = 0; i + 1 < r.events.size(); ++i) EXPECT_EQ(r.events[i].type, "token");
  EXPECT_EQ(r.events.back().type, "done");
  EXPECT_FALSE(r.text.empty());
  const auto& usage = (*r.done)["usage"];
  EXPECT_GE(usage["completion_tokens"].get<int>(), 1);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 16);
}

TEST_F(InferTest, StreamIsTheDefaultAndModelDefaultsToTheCurrentOne) {
  auto r = Infer(port(), json{{"prompt", "hello"}, {"max_tokens", 4}});
  ExpectCompleted(r, "tiny");
  EXPECT_EQ(r.Header("content-type").rfind("text/event-stream", 0), 0u);
}

TEST_F(InferTest, NamingTheCurrentModelDoesNotSwitch) {
  const size_t before = server_->LogsWithMsg("switch").size();
  ExpectCompleted(Infer(port(), InferBody("hello", 4, {{"model", "tiny"}})), "tiny");
  ExpectCompleted(Infer(port(), InferBody("hello", 4, {{"model", "tiny"}})), "tiny");
  EXPECT_EQ(server_->LogsWithMsg("switch").size(), before);
}

TEST_F(InferTest, NdjsonStreamCarriesTypedObjectsPerLine) {
  auto r = Infer(port(), InferBody("The quick brown fox", 12), StreamFormat::kNdjson);
  ExpectCompleted(r, "tiny");
  EXPECT_EQ(r.Header("content-type").rfind("application/x-ndjson", 0), 0u);
  ASSERT_GE(r.events.size(), 2u);
  for (size_t i = 0; i + 1 < r.events.size(); ++i) {
    EXPECT_EQ(Str(r.events[i].data, "type"), "token") << r.events[i].raw;
  }
  EXPECT_EQ(Str(*r.done, "type"), "done");
  // Same text as the SSE stream for the same greedy request.
  auto sse = Infer(port(), InferBody("The quick brown fox", 12));
  EXPECT_EQ(r.text, sse.text);
}

TEST_F(InferTest, StreamFalseReturnsOneJsonObject) {
  auto r = Infer(port(), InferBody("The quick brown fox", 12, {{"stream", false}}));
  ExpectCompleted(r, "tiny");
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u);
  ASSERT_TRUE(r.done->contains("text") && (*r.done)["text"].is_string()) << r.Describe();
  EXPECT_TRUE(IsValidUtf8(r.text));
  auto sse = Infer(port(), InferBody("The quick brown fox", 12));
  EXPECT_EQ(r.text, sse.text) << "stream:false and the stream disagree";
  EXPECT_EQ((*r.done)["usage"], (*sse.done)["usage"]);
}

TEST_F(InferTest, MaxTokensEndsWithFinishLength) {
  for (int n : {1, 7, 20}) {
    auto r = Infer(port(), InferBody("Count with me: one two three", n));
    ExpectCompleted(r, "tiny");
    ASSERT_TRUE(r.done.has_value());
    EXPECT_EQ(Str(*r.done, "finish_reason"), "length") << r.Describe();
    EXPECT_EQ((*r.done)["usage"]["completion_tokens"], n) << r.Describe();
  }
}

TEST_F(InferTest, GreedyIsDeterministic) {
  auto a = Infer(port(), InferBody("Determinism check", 24));
  auto b = Infer(port(), InferBody("Determinism check", 24));
  ExpectCompleted(a, "tiny");
  ExpectCompleted(b, "tiny");
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ((*a.done)["usage"], (*b.done)["usage"]);
}

TEST_F(InferTest, SameSeedSamplesTheSameText) {
  json extra = {{"temperature", 1.0}, {"top_k", 0}, {"top_p", 1.0}, {"min_p", 0.0}};
  extra["seed"] = 1234;
  auto a = Infer(port(), InferBody("Seeded sampling", 24, extra));
  auto b = Infer(port(), InferBody("Seeded sampling", 24, extra));
  extra["seed"] = 99;
  auto c = Infer(port(), InferBody("Seeded sampling", 24, extra));
  ExpectCompleted(a, "tiny");
  ExpectCompleted(b, "tiny");
  ExpectCompleted(c, "tiny");
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.text, c.text) << "a different seed should sample differently";
}

TEST_F(InferTest, PromptTokensCountTheWholePrompt) {
  auto shorter = Infer(port(), InferBody("one", 1));
  auto longer = Infer(port(), InferBody("one two three four five six seven eight nine ten", 1));
  ExpectCompleted(shorter, "tiny");
  ExpectCompleted(longer, "tiny");
  EXPECT_GT((*longer.done)["usage"]["prompt_tokens"].get<int>(),
            (*shorter.done)["usage"]["prompt_tokens"].get<int>() + 5);
}

// The stop string is cut from a greedy run's own output, so the rerun must
// stop exactly there and never emit any part of it.
TEST_F(InferTest, StopStringEndsGenerationAndIsNeverEmitted) {
  auto full = Infer(port(), InferBody("Tell me something", 48));
  ExpectCompleted(full, "tiny");
  auto cps = CodePoints(full.text);
  ASSERT_GE(cps.size(), 12u) << "greedy output too short to pick a stop string: " << full.text;
  const std::string stop = cps[8] + cps[9] + cps[10];
  const std::string expected = full.text.substr(0, full.text.find(stop));
  for (const json& stop_field : {json(stop), json::array({"never-appears-xyz", stop})}) {
    auto r = Infer(port(), InferBody("Tell me something", 48, {{"stop", stop_field}}));
    ExpectCompleted(r, "tiny");
    EXPECT_EQ(r.text.find(stop), std::string::npos) << "stop string emitted: " << r.text;
    EXPECT_EQ(r.text, expected) << "stop " << stop_field;
    EXPECT_EQ(Str(*r.done, "finish_reason"), "stop") << r.Describe();
    auto nonstream = Infer(
        port(), InferBody("Tell me something", 48, {{"stop", stop_field}, {"stream", false}}));
    ExpectCompleted(nonstream, "tiny");
    EXPECT_EQ(nonstream.text, expected);
  }
}

TEST_F(InferTest, StopStringsNeverAppearInSampledOutput) {
  // Frequent short stops against high-temperature sampling.
  const json stops = json::array({"e", "th", "\xC3\xA9"});
  for (int seed = 1; seed <= 6; ++seed) {
    auto r = Infer(port(), InferBody("Stops everywhere", 40,
                                     {{"temperature", 1.5}, {"seed", seed}, {"stop", stops}}));
    ExpectCompleted(r, "tiny");
    for (const auto& s : stops) {
      EXPECT_EQ(r.text.find(s.get<std::string>()), std::string::npos)
          << "seed " << seed << " emitted stop " << s << ": " << r.text;
    }
  }
}

// Random weights at high temperature sample byte-fallback tokens that form
// broken sequences; every event (not only the whole text) must be valid UTF-8.
TEST_F(InferTest, AllStreamedTextIsValidUtf8) {
  const std::vector<std::string> prompts = {
      "h\xC3\xA9llo w\xC3\xB6rld", "\xE4\xB8\x96\xE7\x95\x8C\xE4\xBD\xA0\xE5\xA5\xBD",
      "emoji \xF0\x9F\x99\x82\xF0\x9F\x9A\x80", "plain ascii prompt"};
  int events = 0;
  for (int seed = 0; seed < 16; ++seed) {
    const auto& prompt = prompts[seed % prompts.size()];
    const StreamFormat fmt = seed % 2 == 0 ? StreamFormat::kSse : StreamFormat::kNdjson;
    json extra = {{"temperature", 1.5}, {"seed", seed}, {"top_k", 0}, {"min_p", 0.0}};
    auto r = Infer(port(), InferBody(prompt, 48, extra), fmt);
    ExpectCompleted(r, "tiny");  // reports any token text that is not UTF-8
    EXPECT_TRUE(IsValidUtf8(r.text)) << "seed " << seed;
    for (const auto& e : r.events) {
      EXPECT_TRUE(IsValidUtf8(e.raw)) << "raw event bytes not UTF-8, seed " << seed;
    }
    events += static_cast<int>(r.events.size());
  }
  json extra = {{"temperature", 1.5}, {"seed", 5}, {"stream", false}};
  auto r = Infer(port(), InferBody(prompts[0], 64, extra));
  ExpectCompleted(r, "tiny");
  EXPECT_TRUE(IsValidUtf8(r.body));
  EXPECT_GT(events, 16);
}

TEST_F(InferTest, UnknownFieldsAreIgnored) {
  auto r = Infer(port(), InferBody("hello", 3, {{"frobnicate", true}, {"nested", {{"a", 1}}}}));
  ExpectCompleted(r, "tiny");
}

TEST_F(InferTest, BoundaryValuesAreAccepted) {
  const std::vector<json> extras = {
      {{"temperature", 0}},    {{"temperature", 2}},
      {{"top_p", 0}},          {{"top_p", 1}},
      {{"top_k", 0}},          {{"min_p", 0}},
      {{"min_p", 1}},          {{"seed", 0}},
      {{"seed", 4294967295u}}, {{"stop", json::array()}},
      {{"stream", true}},      {{"model", "tiny"}},
  };
  for (const auto& extra : extras) {
    auto r = Infer(port(), InferBody("boundary", 2, extra));
    ExpectCompleted(r, "tiny");
    EXPECT_TRUE(r.status == 200) << extra;
  }
}

}  // namespace
}  // namespace modeld::blackbox
