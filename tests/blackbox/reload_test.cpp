// Hot reload (SIGHUP, --watch-config), --models-dir, --check-config and
// --pin against the real binary. Every wait is on a log line or a bounded
// poll of state; no sleeps.
#include <csignal>
#include <filesystem>
#include <fstream>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

namespace fs = std::filesystem;

class ReloadTest : public BlackboxTest {
 protected:
  // Replaces the server's config the way an editor saves: a new file
  // renamed over the old one.
  static void Rewrite(Server& s, const std::string& yaml) {
    const std::string tmp = s.config_path() + ".tmp";
    std::ofstream(tmp) << yaml;
    fs::rename(tmp, s.config_path());
  }
  // The ids GET /models lists.
  static std::vector<std::string> Ids(int port) {
    std::vector<std::string> ids;
    auto j = Get(port, "/models").Json();
    for (const auto& m : j["models"]) ids.push_back(m["id"].get<std::string>());
    return ids;
  }
  // Waits for the n-th log line with msg `msg` (the timeout is a hang
  // guard only). Each line is offered to the predicate once, in order.
  static std::optional<json> WaitNth(Server& s, const std::string& msg, size_t n) {
    size_t seen = 0;
    return s.WaitForLog([&](const json& l) { return Str(l, "msg") == msg && ++seen == n; },
                        Millis(30000));
  }
};

std::vector<ModelEntry> Only(std::initializer_list<const char*> ids) {
  std::vector<ModelEntry> out;
  for (const ModelEntry& m : StandardModels()) {
    for (const char* id : ids) {
      if (m.id == id) out.push_back(m);
    }
  }
  return out;
}

TEST_F(ReloadTest, SighupAddsAModelAndCountsTheReload) {
  Server* s = StartServer(ConfigYaml("tiny", Only({"tiny"})), {}, "tiny");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Ids(s->port()), std::vector<std::string>{"tiny"});
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny", "small"})));
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  auto line = WaitNth(*s, "config reloaded", 1);
  ASSERT_TRUE(line.has_value());
  auto reloaded = s->LogsWithMsg("config reloaded").front();
  EXPECT_EQ(Str(reloaded, "trigger"), "SIGHUP");
  EXPECT_EQ(Str(reloaded, "added"), "small");
  EXPECT_EQ(Ids(s->port()), (std::vector<std::string>{"tiny", "small"}));
  EXPECT_EQ(s->Metric("modeld_config_reloads_total{outcome=\"ok\"}"), 1.0);
  EXPECT_EQ(s->Metric("modeld_config_reloads_total{outcome=\"failed\"}"), 0.0);
  // The added model is served, and the OpenAI API knows it.
  auto r = Infer(s->port(), InferBody("hello", 4, {{"model", "small"}}));
  ExpectCompleted(r, "small");
  auto retrieved = Get(s->port(), "/v1/models/small");
  EXPECT_EQ(retrieved.status, 200) << retrieved.body;
  EXPECT_EQ(retrieved.Json()["id"], "small") << retrieved.body;
  auto unknown = Get(s->port(), "/v1/models/nope");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(unknown.body.find("model_not_found"), std::string::npos) << unknown.body;
}

TEST_F(ReloadTest, AnInvalidConfigIsRefusedNamingFileAndLineAndTheOldOneStays) {
  Server* s = StartServer(ConfigYaml("tiny", Only({"tiny", "small"})), {}, "tiny");
  ASSERT_NE(s, nullptr);
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny"})) + "max_queue: lots\n");
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  auto refused = s->WaitForLog(
      [](const json& l) { return Str(l, "msg").rfind("config reload refused", 0) == 0; },
      Millis(30000));
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(Str(*refused, "level"), "error");
  EXPECT_NE(Str(*refused, "msg").find(s->config_path() + ":"), std::string::npos) << *refused;
  EXPECT_NE(Str(*refused, "msg").find("max_queue"), std::string::npos) << *refused;
  EXPECT_EQ(Ids(s->port()), (std::vector<std::string>{"tiny", "small"}));
  EXPECT_EQ(s->Metric("modeld_config_reloads_total{outcome=\"failed\"}"), 1.0);
  ExpectCompleted(Infer(s->port(), InferBody("still here", 4)), "tiny");
}

TEST_F(ReloadTest, AStreamOnAModelTheReloadKeepsRunsOn) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  InferStream stream(s->port(), InferBody("keep going", 200, {{"temperature", 1.0}, {"seed", 3}}));
  ASSERT_TRUE(stream.Next(Millis(10000)).has_value()) << stream.error();
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny", "tiny-b"})));  // small removed
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  ASSERT_TRUE(WaitNth(*s, "config reloaded", 1).has_value());
  InferResult r = Finish(stream, Millis(60000));
  ExpectCompleted(r, "tiny");
  EXPECT_EQ(Ids(s->port()), (std::vector<std::string>{"tiny", "tiny-b"}));
  ExpectErrorResponse(PostJson(s->port(), "/infer", InferBody("x", 2, {{"model", "small"}})), 404,
                      "model_not_found");
}

TEST_F(ReloadTest, ARemovedLoadedModelFinishesItsStreamThenIsUnloaded) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  InferStream stream(s->port(), InferBody("finish me", 200, {{"temperature", 1.0}, {"seed", 4}}));
  ASSERT_TRUE(stream.Next(Millis(10000)).has_value()) << stream.error();
  Rewrite(*s, ConfigYaml("small", Only({"tiny-b", "small"})));
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  ASSERT_TRUE(WaitNth(*s, "config reloaded", 1).has_value());
  ExpectCompleted(Finish(stream, Millis(60000)), "tiny");  // not cancelled
  auto empty = s->WaitForLog(
      [](const json& l) { return Str(l, "msg") == "state" && Str(l, "state") == "empty"; },
      Millis(30000));
  ASSERT_TRUE(empty.has_value()) << "the removed model was not unloaded";
  ExpectReadyz(s->port(), 503, "empty", nullptr);
  auto r = Infer(s->port(), InferBody("next", 4, {{"model", "small"}}));
  ExpectCompleted(r, "small");
}

TEST_F(ReloadTest, AReloadDropsARemovedOrChangedModelFromStandby) {
  const std::string standby = "standby_bytes: 1073741824\n";
  Server* s = StartServer(ConfigYaml("tiny", StandardModels(), standby), {}, "tiny");
  ASSERT_NE(s, nullptr);
  ExpectCompleted(Infer(s->port(), InferBody("x", 2, {{"model", "tiny-b"}})), "tiny-b");
  ExpectCompleted(Infer(s->port(), InferBody("x", 2, {{"model", "small"}})), "small");
  ASSERT_EQ(s->Metric("modeld_standby_models"), 2.0);  // tiny and tiny-b kept
  // tiny removed, tiny-b changed: neither may come back from standby.
  std::vector<ModelEntry> models = Only({"tiny-b", "small"});
  models[0].extra = "    ctx_size: 1024\n";
  Rewrite(*s, ConfigYaml("small", models, standby));
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  ASSERT_TRUE(WaitNth(*s, "config reloaded", 1).has_value());
  EXPECT_EQ(Str(s->LogsWithMsg("config reloaded").front(), "changed"), "tiny-b");
  EXPECT_EQ(s->Metric("modeld_standby_models"), 0.0);
  EXPECT_EQ(s->Metric("modeld_standby_bytes"), 0.0);
}

TEST_F(ReloadTest, WatchConfigReloadsOncePerSave) {
  ServerOptions options;
  options.extra_args = {"--watch-config"};
  Server* s = StartServer(ConfigYaml("tiny", Only({"tiny"})), options, "tiny");
  ASSERT_NE(s, nullptr);
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny", "tiny-b"})));
  auto line = WaitNth(*s, "config reloaded", 1);
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Str(s->LogsWithMsg("config reloaded").front(), "trigger"), "watch");
  EXPECT_EQ(Ids(s->port()), (std::vector<std::string>{"tiny", "tiny-b"}));
  // A second save is a second reload; the counter says how many there were.
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny", "tiny-b", "small"})));
  ASSERT_TRUE(WaitNth(*s, "config reloaded", 2).has_value());
  EXPECT_EQ(s->Metric("modeld_config_reloads_total{outcome=\"ok\"}"), 2.0);
}

// --models-dir: a folder of GGUF files, no YAML.
class ModelsDirTest : public ReloadTest {
 protected:
  std::unique_ptr<Server> StartDir(const fs::path& dir, std::vector<std::string> extra = {}) {
    ProcessSpec spec{
        ModeldBin(),
        {"--models-dir", dir.string(), "--host", "127.0.0.1", "--port", "0", "--threads", "1"},
        {},
        ""};
    spec.args.insert(spec.args.end(), extra.begin(), extra.end());
    std::string error;
    auto s = Server::StartRaw(spec, &error, Millis(30000));
    EXPECT_NE(s, nullptr) << error;
    return s;
  }
  TempDir dir_;
};

TEST_F(ModelsDirTest, EveryGgufIsAModelNamedByItsFileAndARescanAddsMore) {
  fs::create_symlink(ModelFile("tiny.gguf"), dir_.path() / "tiny.gguf");
  fs::create_symlink(ModelFile("small.gguf"), dir_.path() / "small-00001-of-00001.gguf");
  std::ofstream(dir_.path() / "notes.txt") << "not a model";
  auto s = StartDir(dir_.path());
  ASSERT_NE(s, nullptr);
  auto j = Get(s->port(), "/models").Json();
  ASSERT_EQ(j["models"].size(), 2u) << j;
  EXPECT_EQ(j["models"][0]["id"], "small") << j;  // split suffix removed
  EXPECT_EQ(j["models"][0]["quant"], "q8_0") << j;
  EXPECT_EQ(j["models"][0]["family"], "llama") << j;
  EXPECT_EQ(j["models"][1]["id"], "tiny") << j;
  EXPECT_EQ(j["models"][1]["quant"], "f16") << j;
  EXPECT_EQ(j["current"], nullptr);  // no default model without a YAML
  ExpectCompleted(Infer(s->port(), InferBody("hi", 4, {{"model", "tiny"}})), "tiny");

  fs::create_symlink(ModelFile("tiny-b.gguf"), dir_.path() / "tiny-b.gguf");
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  ASSERT_TRUE(WaitNth(*s, "config reloaded", 1).has_value());
  EXPECT_EQ(Ids(s->port()), (std::vector<std::string>{"small", "tiny-b", "tiny"}));  // by file name
  ExpectCompleted(Infer(s->port(), InferBody("hi", 4, {{"model", "tiny-b"}})), "tiny-b");
}

TEST_F(ModelsDirTest, TheYamlEntryWinsAnIdConflict) {
  fs::create_symlink(ModelFile("tiny.gguf"), dir_.path() / "tiny.gguf");
  fs::create_symlink(ModelFile("small.gguf"), dir_.path() / "small.gguf");
  const fs::path config = dir_.path() / "models.yaml";
  std::ofstream(config) << ConfigYaml("", {{"tiny", ModelFile("tiny.gguf"), "custom", ""}});
  auto s = StartDir(dir_.path(), {"--config", config.string()});
  ASSERT_NE(s, nullptr);
  auto j = Get(s->port(), "/models").Json();
  ASSERT_EQ(j["models"].size(), 2u) << j;
  EXPECT_EQ(j["models"][0]["id"], "tiny");
  EXPECT_EQ(j["models"][0]["quant"], "custom") << j;  // the YAML's, not the header's
  EXPECT_EQ(j["models"][1]["id"], "small");
}

TEST_F(ModelsDirTest, CheckConfigPrintsEveryProblemAndExits2) {
  const fs::path config = dir_.path() / "bad.yaml";
  std::ofstream(config) << ConfigYaml("",
                                      {{"tiny", ModelFile("tiny.gguf"), "f16", "    ctx_size: x\n"},
                                       {"gone", "/nonexistent/gone.gguf", "f16", ""}})
                        << "max_queue: 0\n";
  ExitResult bad = RunToExit({ModeldBin(), {"--check-config", "--config", config.string()}, {}, ""},
                             Millis(30000));
  ASSERT_TRUE(bad.exited);
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("ctx_size"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("max_queue"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("config invalid: 2 problems"), std::string::npos) << bad.out;

  const fs::path good = dir_.path() / "good.yaml";
  std::ofstream(good) << ConfigYaml("", {{"tiny", ModelFile("tiny.gguf"), "f16", ""},
                                         {"gone", "/nonexistent/gone.gguf", "f16", ""}});
  ExitResult missing = RunToExit(
      {ModeldBin(), {"--check-config", "--config", good.string()}, {}, ""}, Millis(30000));
  EXPECT_EQ(missing.exit_code, 2) << missing.out;
  EXPECT_NE(missing.out.find("model \"gone\": file not found"), std::string::npos) << missing.out;

  std::ofstream(good) << ConfigYaml("", {{"tiny", ModelFile("tiny.gguf"), "f16", ""}});
  ExitResult ok = RunToExit({ModeldBin(), {"--check-config", "--config", good.string()}, {}, ""},
                            Millis(30000));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("config ok: 1 model"), std::string::npos) << ok.out;
}

// --pin: one model per replica.
TEST_F(ReloadTest, APinnedServerRefusesOtherModelsWith421AndStaysReady) {
  ServerOptions options;
  options.extra_args = {"--pin", "tiny-b"};
  Server* s = StartServer(ConfigYaml("tiny", StandardModels()), options, "tiny-b");
  ASSERT_NE(s, nullptr);
  auto r = PostJson(s->port(), "/infer", InferBody("x", 2, {{"model", "small"}}));
  ExpectErrorResponse(r, 421, "model_pinned");
  EXPECT_NE(r.body.find("tiny-b"), std::string::npos) << r.body;
  auto oa = PostJson(s->port(), "/v1/chat/completions",
                     {{"model", "small"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
  EXPECT_EQ(oa.status, 421) << oa.body;
  ExpectReadyz(s->port(), 200, "ready", "tiny-b");
  EXPECT_EQ(Ids(s->port()), std::vector<std::string>{"tiny-b"});
  EXPECT_EQ(Get(s->port(), "/v1/models/tiny-b").status, 200);
  EXPECT_EQ(Get(s->port(), "/v1/models/small").status, 404);
  ExpectCompleted(Infer(s->port(), InferBody("x", 2)), "tiny-b");
  EXPECT_EQ(s->LogsWithMsg("switch").size(), 1u);  // the startup load only
  // A reload that drops the pinned model is refused.
  Rewrite(*s, ConfigYaml("tiny", Only({"tiny", "small"})));
  ASSERT_TRUE(s->process().Signal(SIGHUP));
  auto refused = s->WaitForLog(
      [](const json& l) { return Str(l, "msg").rfind("config reload refused", 0) == 0; },
      Millis(30000));
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(Str(*refused, "msg").find("--pin"), std::string::npos) << *refused;
}

TEST_F(ReloadTest, MetricsCompatVllmExposesTheEndpointPickerNames) {
  ServerOptions options;
  options.extra_args = {"--metrics-compat", "vllm"};
  Server* s = StartServer(ConfigYaml("tiny", StandardModels()), options, "tiny");
  ASSERT_NE(s, nullptr);
  for (const char* name :
       {"vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"}) {
    EXPECT_TRUE(s->Metric(name).has_value()) << name;
  }
  auto info = s->Metric(
      "vllm:lora_requests_info{running_lora_adapters=\"tiny\",waiting_lora_adapters=\"\","
      "max_lora=\"1\"}");
  ASSERT_TRUE(info.has_value()) << Get(s->port(), "/metrics").body;
  EXPECT_GT(*info, 1.7e9);  // a Unix timestamp
  // Without the flag, none of them.
  Server* plain = StartServer(ConfigYaml("tiny", StandardModels()), {}, "tiny");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(Get(plain->port(), "/metrics").body.find("vllm:"), std::string::npos);
}

}  // namespace
}  // namespace modeld::blackbox
