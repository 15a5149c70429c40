// Issue 3, rules 8, 14 and 19: /healthz, /readyz through every state, and
// GET /models (which never triggers a load).

#include <atomic>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class ProbesTest : public BlackboxTest {};

TEST_F(ProbesTest, HealthzAnswers200WithAndWithoutAModel) {
  Server* empty = StartStandard("");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(Get(empty->port(), "/healthz").status, 200);
  Server* loaded = StartStandard("tiny");
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(Get(loaded->port(), "/healthz").status, 200);
}

TEST_F(ProbesTest, ReadyzIsReadyOnTheDefaultModel) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  ExpectReadyz(s->port(), 200, "ready", "tiny");
}

TEST_F(ProbesTest, ReadyzIs503EmptyWithoutADefaultModel) {
  Server* s = StartStandard("");
  ASSERT_NE(s, nullptr);
  ExpectReadyz(s->port(), 503, "empty", nullptr);
}

TEST_F(ProbesTest, ReadyzIs503FailedAfterAFailedLoadWithNothingToRestore) {
  auto models = StandardModels();
  models.push_back(
      {"ghost", (std::filesystem::path(MODELD_MODELS_DIR) / "no-such.gguf").string(), "f16", ""});
  Server* s = StartServer(ConfigYaml("", models));
  ASSERT_NE(s, nullptr);
  auto r = PostJson(s->port(), "/infer", InferBody("hello", 4, {{"model", "ghost"}}));
  ExpectErrorResponse(r, 500, "load_failed");
  auto ready = Get(s->port(), "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  auto j = ready.Json();
  EXPECT_EQ(Str(j, "status"), "failed") << ready.body;
  // The model whose load failed, as /metrics names it (it used to be null).
  EXPECT_EQ(j["model"], "ghost") << ready.body;
  // A good model afterwards makes it ready again.
  ExpectCompleted(Infer(s->port(), InferBody("hello", 4, {{"model", "tiny"}})), "tiny");
  EXPECT_TRUE(s->WaitReady("tiny", Millis(5000)));
}

// Polls /readyz as fast as it can while a switch to small (the largest test
// model, ~0.1-0.2 s to load) is in progress.
TEST_F(ProbesTest, ReadyzIs503LoadingDuringASwitch) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  std::atomic<bool> finished{false};
  InferResult switched;
  std::thread req([&] {
    switched = Infer(s->port(), InferBody("hello", 2, {{"model", "small"}}));
    finished = true;
  });
  std::vector<std::string> seen;  // distinct bodies, in order
  json loading;
  while (!finished) {
    auto r = Get(s->port(), "/readyz", Millis(5000));
    if (!r.error.empty()) continue;
    auto j = r.Json();
    if (r.status == 503 && Str(j, "status") == "loading") loading = j;
    const std::string body = std::to_string(r.status) + " " + r.body;
    if (seen.empty() || seen.back() != body) seen.push_back(body);
  }
  req.join();
  ExpectCompleted(switched, "small");
  std::string history;
  for (const auto& b : seen) history += "\n  " + b;
  ASSERT_FALSE(loading.is_null()) << "never saw 503 loading; /readyz answered:" << history;
  EXPECT_EQ(Str(loading, "model"), "small") << loading;
  // Never "ready" on the old model once loading was reported.
  bool after_loading = false;
  for (const auto& b : seen) {
    if (b.find("\"loading\"") != std::string::npos) after_loading = true;
    if (after_loading) {
      EXPECT_EQ(b.find("\"tiny\""), std::string::npos) << history;
    }
  }
  ExpectReadyz(s->port(), 200, "ready", "small");
}

TEST_F(ProbesTest, ModelsListsEveryEntryAndTheCurrentModel) {
  Server* s = StartStandard("tiny-b");
  ASSERT_NE(s, nullptr);
  auto r = Get(s->port(), "/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u);
  auto j = r.Json();
  ASSERT_TRUE(j.is_object() && j["models"].is_array()) << r.body;
  EXPECT_EQ(j["current"], "tiny-b") << r.body;
  std::vector<std::string> ids;
  for (const auto& m : j["models"]) {
    for (const char* k : {"id", "name", "quant", "family"}) {
      EXPECT_TRUE(m.contains(k) && m[k].is_string()) << k << " in " << m;
    }
    EXPECT_FALSE(m.contains("path")) << "paths are shown only with --expose-paths: " << m;
    EXPECT_EQ(m["file_exists"], true) << m;
    ASSERT_TRUE(m.contains("loaded") && m["loaded"].is_boolean()) << m;
    EXPECT_EQ(m["loaded"].get<bool>(), m["id"] == "tiny-b") << m;
    ids.push_back(Str(m, "id"));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"tiny", "tiny-b", "small"}));
  EXPECT_EQ(j["models"][2]["quant"], "q8_0");
  EXPECT_EQ(j["models"][2]["family"], "llama");
  EXPECT_EQ(j["models"][2]["name"], "Model small");
}

TEST_F(ProbesTest, ModelsNeverTriggersALoad) {
  Server* s = StartStandard("");
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 3; ++i) {
    auto r = Get(s->port(), "/models");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    EXPECT_TRUE(j["current"].is_null()) << r.body;
    for (const auto& m : j["models"]) EXPECT_FALSE(m["loaded"].get<bool>()) << m;
  }
  // Had /models set a load target, this request would have joined it.
  ExpectErrorResponse(PostJson(s->port(), "/infer", InferBody("no model named", 2)), 409,
                      "no_model_loaded");
  EXPECT_EQ(Get(s->port(), "/readyz").status, 503);
  EXPECT_TRUE(s->LogsWithMsg("switch").empty());
}

TEST_F(ProbesTest, ModelsReflectsASwitch) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  ExpectCompleted(Infer(s->port(), InferBody("hi", 2, {{"model", "tiny-b"}})), "tiny-b");
  auto j = Get(s->port(), "/models").Json();
  EXPECT_EQ(j["current"], "tiny-b");
  for (const auto& m : j["models"]) EXPECT_EQ(m["loaded"].get<bool>(), m["id"] == "tiny-b") << m;
}

TEST_F(ProbesTest, UnknownPathIs404) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Get(s->port(), "/no-such-path").status, 404);
}

}  // namespace
}  // namespace modeld::blackbox
