#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {

void BlackboxTest::SetUp() {
  const std::string missing = MissingModelsMessage();
  if (!missing.empty()) GTEST_FAIL() << missing;
}

void BlackboxTest::TearDown() {
  for (const auto& s : servers_) {
    for (const auto& line : s->StderrLines()) {
      EXPECT_TRUE(ParseLogLine(line).has_value()) << "stderr line is not a JSON object: " << line;
    }
  }
}

Server* BlackboxTest::StartServer(const std::string& yaml, const ServerOptions& options,
                                  const std::string& ready_model) {
  std::string error;
  auto s = Server::Start(yaml, &error, options);
  if (!s) {
    ADD_FAILURE() << "modeld did not start: " << error << "\nconfig:\n" << yaml;
    return nullptr;
  }
  servers_.push_back(std::move(s));
  Server* server = servers_.back().get();
  // "listening" comes before the default model is loaded; tests that need it
  // wait here, so they never race the startup load.
  if (!ready_model.empty() && !server->WaitReady(ready_model, Millis(30000))) {
    ADD_FAILURE() << "modeld never became ready on " << ready_model
                  << "; /readyz: " << Get(server->port(), "/readyz").body;
    return nullptr;
  }
  return server;
}

Server* BlackboxTest::StartStandard(const std::string& default_model, const std::string& extra) {
  return StartServer(ConfigYaml(default_model, StandardModels(), extra), {}, default_model);
}

void ExpectReadyz(int port, int status, const std::string& state, const json& model) {
  auto r = Get(port, "/readyz");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u) << r.Header("content-type");
  auto j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(Str(j, "status"), state) << r.body;
  EXPECT_EQ(j.contains("model") ? j["model"] : json("<absent>"), model) << r.body;
}

json InferBody(const std::string& prompt, int max_tokens, const json& extra) {
  json b = {{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}};
  for (const auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

json LongBody(const std::string& model) {
  // Sampling (not greedy) so a generation cannot settle into an early
  // end-of-generation token; it runs until cancelled or kLongTokens.
  json b = InferBody("Once upon a time, in a land far away,", kLongTokens,
                     {{"temperature", 1.0}, {"seed", 7}});
  if (!model.empty()) b["model"] = model;
  return b;
}

void ExpectDoneShape(const json& done, const std::string& model) {
  ASSERT_TRUE(done.is_object()) << done;
  EXPECT_EQ(Str(done, "model"), model) << done;
  const std::string reason = Str(done, "finish_reason");
  EXPECT_TRUE(reason == "stop" || reason == "length") << done;
  ASSERT_TRUE(done.contains("usage") && done["usage"].is_object()) << done;
  for (const char* k : {"prompt_tokens", "completion_tokens"}) {
    ASSERT_TRUE(done["usage"].contains(k) && done["usage"][k].is_number_integer()) << k << done;
    EXPECT_GE(done["usage"][k].get<int>(), 0) << k;
  }
  EXPECT_GT(done["usage"]["prompt_tokens"].get<int>(), 0) << done;
  ASSERT_TRUE(done.contains("timings") && done["timings"].is_object()) << done;
  for (const char* k :
       {"queue_ms", "switch_ms", "prompt_ms", "generation_ms", "tokens_per_second"}) {
    ASSERT_TRUE(done["timings"].contains(k) && done["timings"][k].is_number()) << k << done;
    EXPECT_GE(done["timings"][k].get<double>(), 0.0) << k;
  }
}

void ExpectErrorResponse(const HttpResponse& r, int status, const std::string& code) {
  ASSERT_TRUE(r.error.empty()) << r.error;
  const std::string body = r.body.substr(0, 400);  // a wrongly streamed answer can be long
  EXPECT_EQ(r.status, status) << body;
  EXPECT_EQ(r.Header("content-type").rfind("application/json", 0), 0u) << r.Header("content-type");
  auto j = r.Json();
  ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_object()) << body;
  EXPECT_EQ(Str(j["error"], "code"), code) << body;
  EXPECT_FALSE(Str(j["error"], "message").empty()) << body;
}

void ExpectCompleted(const InferResult& r, const std::string& model) {
  EXPECT_TRUE(r.transport_error.empty()) << r.Describe();
  EXPECT_TRUE(r.problems.empty()) << r.Describe();
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_FALSE(r.error.has_value()) << r.Describe();
  ASSERT_TRUE(r.done.has_value()) << r.Describe();
  ExpectDoneShape(*r.done, model);
}

}  // namespace modeld::blackbox
