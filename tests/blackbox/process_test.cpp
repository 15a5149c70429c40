// Issue 3, rules 1, 2, 4 and 20: flags and environment, invalid configs
// (exit non-zero naming file, line and field), relative model paths, the
// shipped config, and graceful shutdown on SIGTERM/SIGINT.

#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class ProcessTest : public BlackboxTest {};

ExitResult RunModeld(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return RunToExit({ModeldBin(), std::move(args), std::move(env), ""}, Millis(10000));
}

TEST_F(ProcessTest, VersionPrintsAVersionAndExits0) {
  auto r = RunModeld({"--version"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out + r.err, std::regex(R"(\d+\.\d+\.\d+)"))) << r.out << r.err;
}

TEST_F(ProcessTest, HelpListsEveryFlagAndExits0) {
  auto r = RunModeld({"--help"});
  ASSERT_TRUE(r.exited) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* flag :
       {"--config", "--host", "--port", "--log-level", "--threads", "--max-connections",
        "--max-pending-body-bytes", "--header-timeout", "--body-timeout", "--idle-timeout",
        "--write-timeout", "--socket-send-buffer", "--version", "--help", "--api-key-file",
        "--cors-origins", "--allowed-hosts", "--public-metrics", "--expose-paths"}) {
    EXPECT_NE((r.out + r.err).find(flag), std::string::npos) << flag << " missing in:\n" << r.out;
  }
}

struct BadConfig {
  const char* what;
  std::string yaml;
  std::vector<int> lines;  // the 1-based line the message must name (any of these)
  const char* field;       // the field it must name ("" when none applies)
};

std::string Entry(const std::string& id, const std::string& path) {
  return "  - id: " + id + "\n    name: N\n    path: " + path +
         "\n    quant: f16\n    family: llama\n";
}

TEST_F(ProcessTest, InvalidConfigsExitNonZeroNamingFileLineAndField) {
  const std::string tiny = ModelFile("tiny.gguf");
  const std::vector<BadConfig> cases = {
      // Where the parser notices it: the line of the "[" or the next one.
      {"malformed yaml", "models:\n  - id: [unclosed\n    name: N\n", {2, 3}, ""},
      {"duplicate id", "models:\n" + Entry("a", tiny) + Entry("a", tiny), {7}, "id"},
      {"unknown entry key", "models:\n" + Entry("a", tiny) + "    colour: blue\n", {7}, "colour"},
      {"unknown top-level key",
       "models:\n" + Entry("a", tiny) + "max_qeueu: 3\n",
       {7},
       "max_qeueu"},
      {"missing path",
       "models:\n  - id: a\n    name: N\n    quant: f16\n    family: llama\n",
       {2},
       "path"},
      {"wrongly typed ctx_size",
       "models:\n" + Entry("a", tiny) + "    ctx_size: big\n",
       {7},
       "ctx_size"},
      {"invalid id", "models:\n" + Entry("bad id!", tiny), {2}, "id"},
      {"default_model not listed",
       "default_model: zzz\nmodels:\n" + Entry("a", tiny),
       {1},
       "default_model"},
      {"models not a list", "models: 5\n", {1}, "models"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    const std::string path = (dir.path() / "bad.yaml").string();
    std::ofstream(path) << c.yaml;
    auto r = RunModeld({"--config", path, "--port", "0"});
    ASSERT_TRUE(r.exited) << "did not exit: " << r.err;
    EXPECT_EQ(r.signal, 0) << "crashed";
    EXPECT_NE(r.exit_code, 0);
    const std::string all = r.out + r.err;
    EXPECT_NE(all.find(path), std::string::npos) << "file not named:\n" << all;
    // The line number, as a number of its own, outside the file name.
    std::string rest = all;
    for (size_t p; (p = rest.find(path)) != std::string::npos;) rest.erase(p, path.size());
    bool line_named = false;
    for (int line : c.lines) {
      line_named =
          line_named ||
          std::regex_search(rest, std::regex("(^|[^0-9])" + std::to_string(line) + "([^0-9]|$)"));
    }
    EXPECT_TRUE(line_named) << "line " << c.lines.front() << " not named:\n" << all;
    if (*c.field) {
      EXPECT_NE(rest.find(c.field), std::string::npos) << "field not named:\n" << all;
    }
    EXPECT_EQ(all.find("listening"), std::string::npos);
  }
}

TEST_F(ProcessTest, MissingConfigFileExitsNonZeroNamingIt) {
  auto r = RunModeld({"--config", "/nonexistent/dir/models.yaml", "--port", "0"});
  ASSERT_TRUE(r.exited);
  EXPECT_EQ(r.signal, 0);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("/nonexistent/dir/models.yaml"), std::string::npos) << r.err;
}

TEST_F(ProcessTest, RelativeModelPathsResolveAgainstTheConfigFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "m");
  std::filesystem::create_symlink(ModelFile("tiny.gguf"), dir.path() / "m" / "t.gguf");
  const std::string config = (dir.path() / "models.yaml").string();
  std::ofstream(config) << ConfigYaml("rel", {{"rel", "m/t.gguf", "f16", ""}});
  std::string error;
  // Started from "/", so only the config's folder can make m/t.gguf work.
  auto s = Server::StartRaw(
      {ModeldBin(),
       {"--config", config, "--host", "127.0.0.1", "--port", "0", "--threads", "1"},
       {},
       "/"},
      &error, Millis(30000));
  ASSERT_NE(s, nullptr) << error;
  EXPECT_TRUE(s->WaitReady("rel", Millis(5000))) << Get(s->port(), "/readyz").body;
  ExpectCompleted(Infer(s->port(), InferBody("relative", 4)), "rel");
}

TEST_F(ProcessTest, EnvironmentVariablesStandInForFlags) {
  TempDir dir;
  const std::string config = (dir.path() / "models.yaml").string();
  std::ofstream(config) << ConfigYaml("tiny", StandardModels());
  std::string error;
  auto s = Server::StartRaw({ModeldBin(),
                             {},
                             {{"MODELD_CONFIG", config},
                              {"MODELD_HOST", "127.0.0.1"},
                              {"MODELD_PORT", "0"},
                              {"MODELD_THREADS", "1"},
                              {"MODELD_LOG_LEVEL", "debug"}},
                             ""},
                            &error, Millis(30000));
  ASSERT_NE(s, nullptr) << error;
  EXPECT_TRUE(s->WaitReady("tiny", Millis(5000)));
  ExpectCompleted(Infer(s->port(), InferBody("env", 4)), "tiny");
  bool debug = false;
  for (const auto& l : s->Logs()) debug = debug || Str(l, "level") == "debug";
  EXPECT_TRUE(debug) << "MODELD_LOG_LEVEL=debug produced no debug line";
}

TEST_F(ProcessTest, ThreadsAndLogLevelFlagsAreAccepted) {
  Server* s = StartServer(ConfigYaml("tiny", StandardModels()),
                          {{"--log-level", "debug"}, 1, {}, Millis(30000)}, "tiny");
  ASSERT_NE(s, nullptr);
  ExpectCompleted(Infer(s->port(), InferBody("flags", 4)), "tiny");
}

TEST_F(ProcessTest, ShippedConfigServesOutOfTheBox) {
  const std::string config = SourceDir() + "/configs/models.yaml";
  ASSERT_TRUE(std::filesystem::exists(config)) << config;
  std::string error;
  auto s = Server::StartRaw(
      {ModeldBin(),
       {"--config", config, "--host", "127.0.0.1", "--port", "0", "--threads", "1"},
       {},
       ""},
      &error, Millis(60000));
  ASSERT_NE(s, nullptr) << error;
  auto models = Get(s->port(), "/models").Json();
  ASSERT_TRUE(models["models"].is_array() && !models["models"].empty()) << models;
  for (const auto& m : models["models"]) {
    // file_exists is checked when /models is asked (paths are not shown).
    EXPECT_EQ(m["file_exists"], true) << "listed but not generated: " << m;
  }
}

// SIGHUP (now a config reload) and SIGUSR1/SIGUSR2 used to end the
// process at once, cutting streams mid-chunk with nothing logged.
TEST_F(ProcessTest, HupAndUsrSignalsAreLoggedAndServingGoesOn) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  InferStream stream(s->port(), InferBody("signals", 400, {{"temperature", 1.0}, {"seed", 5}}));
  ASSERT_TRUE(stream.Next(Millis(10000)).has_value()) << stream.error();
  for (int sig : {SIGHUP, SIGUSR1, SIGUSR2}) ASSERT_TRUE(s->process().Signal(sig));
  for (const char* name : {"SIGHUP", "SIGUSR1", "SIGUSR2"}) {
    EXPECT_TRUE(
        s->WaitForLog([name](const json& l) { return Str(l, "signal") == name; }, Millis(10000))
            .has_value())
        << name << " was not logged";
  }
  auto hup = s->WaitForLog([](const json& l) { return Str(l, "signal") == "SIGHUP"; }, Millis(1));
  ASSERT_TRUE(hup.has_value());
  EXPECT_NE(Str(*hup, "msg").find("reload"), std::string::npos) << *hup;
  // The reload itself (the config is unchanged) leaves the stream alone.
  EXPECT_TRUE(
      s->WaitForLog([](const json& l) { return Str(l, "msg") == "config reloaded"; }, Millis(10000))
          .has_value());
  ExpectCompleted(Finish(stream, Millis(30000)), "tiny");
  EXPECT_EQ(Get(s->port(), "/healthz").status, 200);
  EXPECT_FALSE(s->process().WaitExit(Millis(1)).has_value()) << "the process ended";
}

class ShutdownTest : public BlackboxTest, public ::testing::WithParamInterface<int> {};

TEST_P(ShutdownTest, SignalMidStreamEndsItShuttingDownAndExits0Within5s) {
  Server* s = StartStandard("tiny", "parallel: 1\n");  // the second request waits
  ASSERT_NE(s, nullptr);
  InferStream stream(s->port(), LongBody());
  ASSERT_TRUE(stream.AwaitHeaders(Millis(10000))) << stream.error();
  ASSERT_TRUE(stream.Next(Millis(5000)).has_value());
  InferStream queued(s->port(), InferBody("queued at shutdown", 4));
  ASSERT_TRUE(s->WaitForMetric(
      "modeld_queue_depth", [](double v) { return v == 1; }, Millis(10000)));

  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(s->process().Signal(GetParam()));
  auto r = Finish(stream, Millis(6000));
  EXPECT_EQ(r.ErrorCode(), "shutting_down") << r.Describe();
  EXPECT_TRUE(r.problems.empty()) << r.Describe();
  auto q = Finish(queued, Millis(6000));
  EXPECT_EQ(q.ErrorCode(), "shutting_down") << q.Describe();
  if (q.status != 200) {
    EXPECT_EQ(q.status, 503) << q.Describe();
    EXPECT_FALSE(q.Header("retry-after").empty()) << q.Describe();
  }
  auto exit =
      s->process().WaitExit(Millis(5000) - std::chrono::duration_cast<Millis>(
                                               std::chrono::steady_clock::now() - signalled));
  ASSERT_TRUE(exit.has_value()) << "still running 5 s after the signal";
  EXPECT_EQ(exit->signal, 0);
  EXPECT_EQ(exit->exit_code, 0);
  // It stopped accepting.
  EXPECT_FALSE(Get(s->port(), "/healthz", Millis(1000)).error.empty());
}

TEST_P(ShutdownTest, SignalWhileIdleExits0Quickly) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->process().Signal(GetParam()));
  auto exit = s->process().WaitExit(Millis(5000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
}

TEST_P(ShutdownTest, SignalDuringALoadExits0Within5s) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  InferStream loading(s->port(), InferBody("load", 4, {{"model", "small"}}));
  ASSERT_TRUE(s->WaitForLoadStart("small", Millis(10000)));
  ASSERT_TRUE(s->process().Signal(GetParam()));
  auto exit = s->process().WaitExit(Millis(5000));
  ASSERT_TRUE(exit.has_value()) << "still running 5 s after the signal";
  EXPECT_EQ(exit->exit_code, 0);
  auto r = Finish(loading, Millis(2000));
  EXPECT_TRUE(r.ErrorCode() == "shutting_down" || r.ErrorCode() == "cancelled") << r.Describe();
  // The load was running when the signal came, and the signal aborted it.
  auto line = s->WaitForLog([](const json& l) { return IsSwitchTo(l, "small"); }, Millis(2000));
  ASSERT_TRUE(line.has_value()) << "no switch line for the interrupted load";
  EXPECT_EQ(Str(*line, "outcome"), "aborted") << *line;
}

INSTANTIATE_TEST_SUITE_P(Signals, ShutdownTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const auto& info) {
                           return std::string(info.param == SIGTERM ? "SIGTERM" : "SIGINT");
                         });

}  // namespace
}  // namespace modeld::blackbox
