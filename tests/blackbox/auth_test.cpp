// Hardening: optional API keys (--api-key-file and the registry's api_keys),
// sent as "Authorization: Bearer <key>"; /healthz and /readyz stay open,
// /metrics only with --public-metrics; a loud warning for a non-loopback
// address without keys.

#include <fstream>

#include "tests/blackbox/fixture.h"
#include "tests/blackbox/raw_client.h"

namespace modeld::blackbox {
namespace {

class AuthTest : public BlackboxTest {
 protected:
  // tiny loaded; keys "sk-file-1", "sk-file-2" from a key file and
  // "sk-registry" from the registry.
  Server* StartWithKeys(std::vector<std::string> more_args = {}) {
    const std::string key_file = (dir_.path() / "keys.txt").string();
    std::ofstream(key_file)
        << "# modeld API keys\n\n  sk-file-1  \r\n# retired: sk-old\nsk-file-2\n";
    ServerOptions options;
    options.extra_args = {"--api-key-file", key_file};
    options.extra_args.insert(options.extra_args.end(), more_args.begin(), more_args.end());
    // Waiting for ready polls /readyz without a key: it stays open.
    return StartServer(ConfigYaml("tiny", StandardModels(), "api_keys:\n  - sk-registry\n"),
                       options, "tiny");
  }
  TempDir dir_;
};

Headers Bearer(const std::string& key) {
  return {{"content-type", "application/json"}, {"authorization", "Bearer " + key}};
}

const std::string kInfer = InferBody("hello", 2, {{"stream", false}}).dump();
const std::string kChat =
    R"({"model":"tiny","max_tokens":2,"messages":[{"role":"user","content":"hi"}]})";

TEST_F(AuthTest, RequestsWithoutTheRightKeyAre401WithABearerChallenge) {
  Server* s = StartWithKeys();
  ASSERT_NE(s, nullptr);
  const Headers json = {{"content-type", "application/json"}};
  struct Case {
    const char* name;
    std::string method, path, body;
    Headers headers;
  };
  const std::vector<Case> cases = {
      {"infer, no key", "POST", "/infer", kInfer, json},
      {"infer, wrong key", "POST", "/infer", kInfer, Bearer("sk-file-3")},
      {"infer, key prefix", "POST", "/infer", kInfer, Bearer("sk-file")},
      {"infer, commented-out key", "POST", "/infer", kInfer, Bearer("sk-old")},
      {"infer, basic auth",
       "POST",
       "/infer",
       kInfer,
       {{"content-type", "application/json"}, {"authorization", "Basic c2stZmlsZS0xOg=="}}},
      {"chat, no key", "POST", "/v1/chat/completions", kChat, json},
      {"completions, wrong key", "POST", "/v1/completions", R"({"prompt":"x"})", Bearer("x")},
      {"models", "GET", "/models", "", {}},
      {"v1 models", "GET", "/v1/models", "", {}},
      {"metrics", "GET", "/metrics", "", {}},
      {"unknown path", "GET", "/nope", "", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Request(s->port(), c.method, c.path, c.body, c.headers);
    ExpectErrorResponse(r, 401, "invalid_api_key");
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
    const bool openai = c.path.rfind("/v1/", 0) == 0;
    EXPECT_EQ(Str(r.Json()["error"], "type"), openai ? "invalid_request_error" : "") << r.body;
  }
  // Nothing reached the model: no request was submitted.
  auto m = Request(s->port(), "GET", "/metrics", "", Bearer("sk-registry"));
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.body.find("modeld_prompt_tokens_total{"), std::string::npos) << m.body;
}

TEST_F(AuthTest, EveryConfiguredKeyWorks) {
  Server* s = StartWithKeys();
  ASSERT_NE(s, nullptr);
  for (const char* key : {"sk-file-1", "sk-file-2", "sk-registry"}) {
    SCOPED_TRACE(key);
    auto r = Request(s->port(), "POST", "/infer", kInfer, Bearer(key));
    EXPECT_EQ(r.status, 200) << r.body;
    auto chat = Request(s->port(), "POST", "/v1/chat/completions", kChat, Bearer(key));
    EXPECT_EQ(chat.status, 200) << chat.body;
    EXPECT_EQ(Request(s->port(), "GET", "/models", "", Bearer(key)).status, 200);
    EXPECT_EQ(Request(s->port(), "GET", "/metrics", "", Bearer(key)).status, 200);
  }
  // The scheme is case-insensitive, as RFC 7235 says.
  auto r = Request(s->port(), "POST", "/infer", kInfer,
                   {{"content-type", "application/json"}, {"authorization", "bearer sk-file-1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  auto listening = s->LogsWithMsg("listening");
  ASSERT_EQ(listening.size(), 1u);
  EXPECT_EQ(listening[0]["api_keys"], 3) << listening[0];
  // No log line holds a key.
  for (const auto& line : s->StderrLines()) {
    EXPECT_EQ(line.find("sk-file-"), std::string::npos) << line;
    EXPECT_EQ(line.find("sk-registry"), std::string::npos) << line;
  }
}

TEST_F(AuthTest, ProbesStayOpenAndMetricsOpensOnRequest) {
  Server* s = StartWithKeys();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Get(s->port(), "/healthz").status, 200);
  ExpectReadyz(s->port(), 200, "ready", "tiny");
  EXPECT_EQ(Get(s->port(), "/metrics").status, 401);

  Server* open = StartWithKeys({"--public-metrics"});
  ASSERT_TRUE(open != nullptr);
  auto m = Get(open->port(), "/metrics");
  EXPECT_EQ(m.status, 200) << m.body;
  ExpectErrorResponse(Get(open->port(), "/models"), 401, "invalid_api_key");
}

TEST_F(AuthTest, WithoutKeysNothingChanges) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(PostJson(s->port(), "/infer", InferBody("hi", 2, {{"stream", false}})).status, 200);
  // A key sent anyway (the OpenAI SDKs always send one) is ignored.
  EXPECT_EQ(Request(s->port(), "POST", "/infer", kInfer, Bearer("unused")).status, 200);
  EXPECT_EQ(Get(s->port(), "/metrics").status, 200);
  EXPECT_EQ(s->LogsWithMsg("listening")[0]["api_keys"], 0);
}

TEST_F(AuthTest, BadKeyFilesStopTheStart) {
  const std::string config = (dir_.path() / "models.yaml").string();
  std::ofstream(config) << ConfigYaml("", StandardModels());
  const std::string empty = (dir_.path() / "empty.txt").string();
  std::ofstream(empty) << "# nothing yet\n\n";
  const std::string spaced = (dir_.path() / "spaced.txt").string();
  std::ofstream(spaced) << "sk-good\nsk with spaces\n";
  struct Case {
    std::string file;
    std::string message;
  };
  const Case cases[] = {
      {empty, empty + ": no API key in the file"},
      {spaced, spaced + ":2: an API key may hold only visible ASCII characters"},
      {(dir_.path() / "absent.txt").string(), "absent.txt: cannot open"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto r = RunToExit(
        {ModeldBin(), {"--config", config, "--port", "0", "--api-key-file", c.file}, {}, ""},
        Millis(10000));
    ASSERT_TRUE(r.exited) << r.err;
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("sk with spaces"), std::string::npos) << r.err;
  }
}

// Requirement 3: binding beyond loopback without keys says so, loudly and
// before "listening".
TEST_F(AuthTest, NonLoopbackWithoutKeysWarns) {
  const std::string config = (dir_.path() / "models.yaml").string();
  std::ofstream(config) << ConfigYaml("", StandardModels());
  const std::string keys = (dir_.path() / "keys.txt").string();
  std::ofstream(keys) << "sk-1\n";
  auto start = [&](const std::string& host, bool with_keys) {
    ProcessSpec spec{ModeldBin(), {"--config", config, "--host", host, "--port", "0"}, {}, ""};
    if (with_keys) spec.args.insert(spec.args.end(), {"--api-key-file", keys});
    std::string error;
    auto s = Server::StartRaw(spec, &error, Millis(30000));
    EXPECT_TRUE(s != nullptr) << error;
    return s;
  };
  auto warnings = [](Server& s) {
    int n = 0;
    for (const auto& l : s.Logs()) {
      if (Str(l, "level") == "warn" &&
          Str(l, "msg").rfind("no API keys on a non-loopback address", 0) == 0) {
        ++n;
      }
    }
    return n;
  };
  auto open = start("0.0.0.0", false);
  ASSERT_TRUE(open != nullptr);
  EXPECT_EQ(warnings(*open), 1);
  EXPECT_EQ(Get(open->port(), "/healthz").status, 200);  // reachable over loopback too
  auto keyed = start("0.0.0.0", true);
  ASSERT_TRUE(keyed != nullptr);
  EXPECT_EQ(warnings(*keyed), 0);
  auto local = start("127.0.0.1", false);
  ASSERT_TRUE(local != nullptr);
  EXPECT_EQ(warnings(*local), 0);
  for (auto* s : {open.get(), keyed.get(), local.get()}) {
    for (const auto& line : s->StderrLines()) {
      EXPECT_TRUE(ParseLogLine(line).has_value()) << line;
    }
  }
}

}  // namespace
}  // namespace modeld::blackbox
