// Issue 15, requirement 5: POST /v1/embeddings and POST /embed on the real
// binary: normalized vectors, usage, base64, a switch when the request
// names another model, and errors (a too-long input is refused before any
// switch).

#include <cmath>
#include <cstring>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

std::vector<float> FromBase64(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

class EmbeddingsTest : public BlackboxTest {
 protected:
  void SetUp() override {
    BlackboxTest::SetUp();
    if (HasFatalFailure()) return;
    std::vector<ModelEntry> models = {
        {"embed", ModelFile("embed.gguf"), "f16", ""},
        {"tiny", ModelFile("tiny.gguf"), "f16", "    pooling: last\n"},
        {"short", ModelFile("embed.gguf"), "f16", "    ctx_size: 16\n"}};
    server_ = StartServer(ConfigYaml("embed", models, ""), {}, "embed");
    ASSERT_NE(server_, nullptr);
  }
  int port() const { return server_->port(); }
  Server* server_ = nullptr;
};

TEST_F(EmbeddingsTest, OpenAiVectorsAreNormalizedWithUsageAndBase64Matches) {
  const json body = {{"input", {"hello world", "the quick brown fox"}}};
  auto r = PostJson(port(), "/v1/embeddings", body);
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["model"], "embed");
  ASSERT_EQ(j["data"].size(), 2u) << r.body;
  std::vector<std::vector<float>> floats;
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(j["data"][i]["object"], "embedding");
    EXPECT_EQ(j["data"][i]["index"], i);
    floats.push_back(j["data"][i]["embedding"].get<std::vector<float>>());
    EXPECT_NEAR(Norm(floats.back()), 1.0, 1e-4);
  }
  EXPECT_EQ(floats[0].size(), floats[1].size());
  EXPECT_GT(floats[0].size(), 8u);
  EXPECT_NE(floats[0], floats[1]);
  const int tokens = j["usage"]["prompt_tokens"].get<int>();
  EXPECT_GT(tokens, 2);
  EXPECT_EQ(j["usage"]["total_tokens"], tokens);

  json b64 = body;
  b64["encoding_format"] = "base64";
  auto r2 = PostJson(port(), "/v1/embeddings", b64);
  ASSERT_EQ(r2.status, 200) << r2.body;
  const json j2 = r2.Json();
  // The same inputs give the same vectors, here as float32 bytes.
  EXPECT_EQ(FromBase64(j2["data"][0]["embedding"].get<std::string>()), floats[0]);
  EXPECT_EQ(FromBase64(j2["data"][1]["embedding"].get<std::string>()), floats[1]);
}

TEST_F(EmbeddingsTest, NativeEndpointAndTokenInputs) {
  auto r = PostJson(port(), "/embed", {{"input", "hello world"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  EXPECT_EQ(j["model"], "embed");
  ASSERT_EQ(j["embeddings"].size(), 1u);
  EXPECT_NEAR(Norm(j["embeddings"][0].get<std::vector<float>>()), 1.0, 1e-4);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_TRUE(j["timings"].contains("prompt_ms"));
  auto t = PostJson(port(), "/embed", {{"input", {1, 5, 9}}});
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.Json()["usage"]["prompt_tokens"], 3);
  const std::string metrics = Get(port(), "/metrics").body;
  EXPECT_NE(metrics.find("modeld_embedding_inputs_total{model=\"embed\"} 2\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("modeld_embedding_requests_total{model=\"embed\"} 2\n"),
            std::string::npos);
}

TEST_F(EmbeddingsTest, AnotherModelSwitchesLikeAnyRequest) {
  auto r = PostJson(port(), "/v1/embeddings", {{"model", "tiny"}, {"input", "switch please"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["model"], "tiny");
  EXPECT_TRUE(
      server_->WaitForLog([](const json& l) { return IsSwitchTo(l, "tiny"); }, Millis(5000)));
  ExpectReadyz(port(), 200, "ready", "tiny");
  // Generation still works on the model embeddings switched to.
  ExpectCompleted(Infer(port(), InferBody("after embeddings", 4)), "tiny");
}

TEST_F(EmbeddingsTest, EmbeddingsBesideAStreamingGeneration) {
  InferStream stream(port(), LongBody());
  ASSERT_TRUE(stream.AwaitHeaders(Millis(10000))) << stream.error();
  ASSERT_TRUE(stream.Next(Millis(5000)).has_value());
  auto r = PostJson(port(), "/v1/embeddings", {{"input", "meanwhile"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NEAR(Norm(r.Json()["data"][0]["embedding"].get<std::vector<float>>()), 1.0, 1e-4);
  // The generation goes on.
  auto next = stream.Next(Millis(5000));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->type, "token");
}

TEST_F(EmbeddingsTest, BadRequestsAreClearErrorsAndDoNotSwitch) {
  const struct {
    json body;
    int status;
    std::string code;
  } cases[] = {
      {{{"input", ""}}, 400, "invalid_request"},
      {{{"input", json::array()}}, 400, "invalid_request"},
      {{{"model", "embed"}}, 400, "invalid_request"},
      {{{"input", "a"}, {"encoding_format", "int8"}}, 400, "invalid_request"},
      {{{"input", "a"}, {"dimensions", 8}}, 400, "unsupported_parameter"},
      {{{"input", {1, 1 << 30}}}, 400, "invalid_request"},
      {{{"input", "a"}, {"model", "nope"}}, 404, "model_not_found"},
      // Longer than the context of "short": refused before its load.
      {{{"input", "one two three four five six seven eight nine ten eleven twelve thirteen"},
        {"model", "short"}},
       400,
       "invalid_request"},
  };
  for (const auto& c : cases) {
    for (const char* path : {"/v1/embeddings", "/embed"}) {
      SCOPED_TRACE(std::string(path) + " " + c.body.dump());
      auto r = PostJson(port(), path, c.body);
      ExpectErrorResponse(r, c.status, c.code);
    }
  }
  for (const json& l : server_->LogsWithMsg("switch")) EXPECT_NE(Str(l, "to"), "short") << l;
  ExpectReadyz(port(), 200, "ready", "embed");
}

}  // namespace
}  // namespace modeld::blackbox
