// Issue 3, rules 11, 15 and 17: errors known before generation starts get a
// real status and {"error":{"code","message"}} — bad JSON and fields (400),
// unknown model (404), oversized body (413), nothing loaded (409) and a full
// queue (503 with Retry-After).

#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class ErrorsTest : public BlackboxTest {};

HttpResponse PostRaw(int port, const std::string& body) {
  return Request(port, "POST", "/infer", body, {{"content-type", "application/json"}});
}

TEST_F(ErrorsTest, BadJsonIs400InvalidRequest) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  for (const std::string body : {"{not json", "", "{\"prompt\": \"hi\"", "[1,2]", "\"prompt\"",
                                 "null", "42", "{\"prompt\":\"hi\"} trailing"}) {
    SCOPED_TRACE("body: " + body);
    ExpectErrorResponse(PostRaw(s->port(), body), 400, "invalid_request");
  }
}

TEST_F(ErrorsTest, WrongTypesAndOutOfRangeValuesAre400) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::vector<json> bodies = {
      json::object(),
      {{"prompt", ""}},
      {{"prompt", 5}},
      {{"prompt", nullptr}},
      {{"prompt", json::array({"a"})}},
      {{"prompt", "hi"}, {"model", 5}},
      {{"prompt", "hi"}, {"stream", "yes"}},
      {{"prompt", "hi"}, {"stream", 1}},
      {{"prompt", "hi"}, {"max_tokens", 0}},
      {{"prompt", "hi"}, {"max_tokens", -1}},
      {{"prompt", "hi"}, {"max_tokens", "8"}},
      {{"prompt", "hi"}, {"max_tokens", 1.5}},
      {{"prompt", "hi"}, {"max_tokens", 4097}},  // above the default ctx_size (4096)
      {{"prompt", "hi"}, {"temperature", -0.1}},
      {{"prompt", "hi"}, {"temperature", 2.01}},
      {{"prompt", "hi"}, {"temperature", "hot"}},
      {{"prompt", "hi"}, {"top_p", -0.01}},
      {{"prompt", "hi"}, {"top_p", 1.01}},
      {{"prompt", "hi"}, {"top_k", -1}},
      {{"prompt", "hi"}, {"top_k", 2.5}},
      {{"prompt", "hi"}, {"min_p", -0.1}},
      {{"prompt", "hi"}, {"min_p", 1.5}},
      {{"prompt", "hi"}, {"seed", -1}},
      {{"prompt", "hi"}, {"seed", 1.5}},
      {{"prompt", "hi"}, {"seed", "42"}},
      {{"prompt", "hi"}, {"stop", 5}},
      {{"prompt", "hi"}, {"stop", json::array({1})}},
      {{"prompt", "hi"}, {"stop", json::array({"ok", 3})}},
      {{"prompt", "hi"}, {"stop", {{"a", 1}}}},
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE("body: " + body.dump());
    ExpectErrorResponse(PostJson(s->port(), "/infer", body), 400, "invalid_request");
  }
  // Nothing was generated or switched because of them.
  ExpectReadyz(s->port(), 200, "ready", "tiny");
}

TEST_F(ErrorsTest, MaxTokensAboveTheModelsContextIs400) {
  auto models = StandardModels();
  models.push_back({"tiny-256", ModelFile("tiny.gguf"), "f16", "    ctx_size: 256\n"});
  Server* s = StartServer(ConfigYaml("tiny-256", models), {}, "tiny-256");
  ASSERT_NE(s, nullptr);
  ExpectErrorResponse(PostJson(s->port(), "/infer", InferBody("hi", 257)), 400, "invalid_request");
  ExpectErrorResponse(PostJson(s->port(), "/infer", InferBody("hi", 257, {{"model", "tiny-256"}})),
                      400, "invalid_request");
  ExpectCompleted(Infer(s->port(), InferBody("hi", 4, {{"model", "tiny-256"}})), "tiny-256");
  // The default max_tokens (256) is not checked: it ends when the context is full.
  json no_max = {{"prompt", "hi"}, {"temperature", 0}};
  auto r = Infer(s->port(), no_max);
  ExpectCompleted(r, "tiny-256");
  EXPECT_EQ(Str(*r.done, "finish_reason"), "length") << r.Describe();
}

TEST_F(ErrorsTest, UnknownModelIs404AndListsTheValidIds) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  for (bool stream : {true, false}) {
    auto r = PostJson(s->port(), "/infer",
                      InferBody("hi", 2, {{"model", "no-such-model"}, {"stream", stream}}));
    ExpectErrorResponse(r, 404, "model_not_found");
    const std::string message = Str(r.Json()["error"], "message");
    for (const char* id : {"tiny", "tiny-b", "small"}) {
      EXPECT_NE(message.find(id), std::string::npos)
          << "message does not list " << id << ": " << message;
    }
  }
  ExpectReadyz(s->port(), 200, "ready", "tiny");
  for (const auto& l : s->LogsWithMsg("switch")) EXPECT_NE(Str(l, "to"), "no-such-model") << l;
}

TEST_F(ErrorsTest, BodyOverOneMebibyteIs413) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const std::string prompt((1 << 20) + 16, 'a');
  auto r = PostJson(s->port(), "/infer", InferBody(prompt, 2));
  ExpectErrorResponse(r, 413, "payload_too_large");
  // The server is still fine afterwards.
  ExpectCompleted(Infer(s->port(), InferBody("hi", 2)), "tiny");
}

TEST_F(ErrorsTest, NoModelLoadedAndNoneNamedIs409) {
  Server* s = StartStandard("");
  ASSERT_NE(s, nullptr);
  for (bool stream : {true, false}) {
    auto r = PostJson(s->port(), "/infer", InferBody("hi", 2, {{"stream", stream}}));
    ExpectErrorResponse(r, 409, "no_model_loaded");
  }
  EXPECT_EQ(Get(s->port(), "/readyz").status, 503);
  EXPECT_TRUE(s->LogsWithMsg("switch").empty());
}

TEST_F(ErrorsTest, FullQueueIs503WithRetryAfter) {
  Server* s = StartStandard("tiny", "max_queue: 1\nparallel: 1\n");
  ASSERT_NE(s, nullptr);
  InferStream running(s->port(), LongBody());
  ASSERT_TRUE(running.AwaitHeaders(Millis(10000))) << running.error();
  ASSERT_EQ(running.http().status(), 200);
  ASSERT_TRUE(running.Next(Millis(5000)).has_value());
  // While it generates: one request fills the queue, then three more are rejected.
  std::vector<std::unique_ptr<InferStream>> waiting;
  waiting.push_back(std::make_unique<InferStream>(s->port(), InferBody("queued", 2)));
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_queue_depth", [](double v) { return v == 1; }, Millis(10000)));
  for (int i = 0; i < 3; ++i) {
    auto w = std::make_unique<InferStream>(s->port(), InferBody("rejected", 2));
    ASSERT_TRUE(w->AwaitHeaders(Millis(10000))) << w->error();
    EXPECT_EQ(w->http().status(), 503);
    auto j = json::parse(w->Body(Millis(5000)), nullptr, false);
    EXPECT_EQ(Str(j["error"], "code"), "queue_full") << j;
    const std::string retry = w->http().Header("retry-after");
    EXPECT_FALSE(retry.empty()) << "503 without Retry-After";
    EXPECT_EQ(retry.find_first_not_of("0123456789"), std::string::npos) << retry;
    waiting.push_back(std::move(w));
  }
  EXPECT_FALSE(waiting[0]->AwaitHeaders(Millis(1))) << "the queued request got headers";
  // The running stream was not disturbed by the rejections.
  auto next = running.Next(Millis(5000));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->type, "token") << next->raw;
  running.Close();
  for (auto& w : waiting) {
    if (w->http().status() == 503) continue;
    auto r = Finish(*w, Millis(20000));
    ExpectCompleted(r, "tiny");
  }
}

}  // namespace
}  // namespace modeld::blackbox
