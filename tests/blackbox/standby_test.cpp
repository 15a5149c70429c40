// Standby seen from outside: with `standby_bytes`, a switched-out model's
// weights stay loaded, /models says `standby`, switching back reads no file,
// and memory stays within the budget.

#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class StandbyTest : public BlackboxTest {};

constexpr int64_t kMiB = 1024 * 1024;

// VmRSS of a process in bytes; -1 when /proc cannot tell.
int64_t RssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

std::map<std::string, std::string> States(int port) {
  std::map<std::string, std::string> out;
  const json body = Get(port, "/models").Json();
  for (const json& m : body["models"]) {
    out[m["id"].get<std::string>()] = m["state"].get<std::string>();
  }
  return out;
}

// Switches to `model` with a one-token request; false (and a failure) if it failed.
bool SwitchTo(int port, const std::string& model) {
  const InferResult r = Infer(port, InferBody("hello", 1, {{"model", model}}));
  EXPECT_TRUE(r.done.has_value()) << model << ": " << r.Describe();
  return r.done.has_value();
}

TEST_F(StandbyTest, ASwitchedOutModelIsInStandbyAndComesBackWithoutReadingTheFile) {
  Server* s = StartStandard("tiny", "standby_bytes: 1073741824\n");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(States(s->port())["tiny"], "ready");
  ASSERT_TRUE(SwitchTo(s->port(), "small"));
  auto states = States(s->port());
  EXPECT_EQ(states["small"], "ready");
  EXPECT_EQ(states["tiny"], "standby");
  EXPECT_EQ(states["tiny-b"], "unloaded");
  EXPECT_GT(s->Metric("modeld_standby_bytes").value_or(0), 0.0);
  EXPECT_EQ(s->Metric("modeld_standby_models"), 1.0);

  ASSERT_TRUE(SwitchTo(s->port(), "tiny"));
  EXPECT_EQ(States(s->port())["small"], "standby");
  EXPECT_EQ(States(s->port())["tiny"], "ready");
  const auto switches = s->LogsWithMsg("switch");
  ASSERT_GE(switches.size(), 3u);  // the startup load, to small, back to tiny
  const json& back = switches.back();
  EXPECT_EQ(Str(back, "to"), "tiny");
  EXPECT_EQ(back.value("standby", false), true) << back.dump();
  EXPECT_EQ(back.value("model_ms", -1.0), 0.0) << back.dump();
  EXPECT_EQ(switches[switches.size() - 2].value("standby", true), false);
  EXPECT_EQ(s->Metric("modeld_standby_hits_total"), 1.0);
}

TEST_F(StandbyTest, WithoutABudgetNothingIsKept) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(SwitchTo(s->port(), "small"));
  EXPECT_EQ(States(s->port())["tiny"], "unloaded");
  EXPECT_EQ(s->Metric("modeld_standby_bytes"), 0.0);
  ASSERT_TRUE(SwitchTo(s->port(), "tiny"));
  EXPECT_EQ(s->Metric("modeld_standby_hits_total"), 0.0);
}

// Two ids share a file: the second's context cannot be created (4M cells
// of small's KV cache ask for 140 GB at once), so standby is emptied, the
// file read again, the request gets a clear error, and the server goes back
// to ready on the previous model.
TEST_F(StandbyTest, AFailedContextFromStandbyGivesAClearErrorAndReadyzRecovers) {
  std::vector<ModelEntry> models = StandardModels();
  models.push_back({"small-huge", ModelFile("small.gguf"), "q8_0", "    ctx_size: 4000000\n"});
  Server* s = StartServer(ConfigYaml("small", models, "standby_bytes: 1073741824\n"), {}, "small");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(SwitchTo(s->port(), "tiny"));
  ASSERT_EQ(States(s->port())["small"], "standby");
  const HttpResponse r = PostJson(
      s->port(), "/infer", InferBody("hello", 1, {{"model", "small-huge"}, {"stream", false}}));
  ExpectErrorResponse(r, 500, "load_failed");
  EXPECT_NE(r.body.find("failed to create a context"), std::string::npos) << r.body;
  ASSERT_TRUE(s->WaitReady("tiny", Millis(60000)));
  ExpectReadyz(s->port(), 200, "ready", "tiny");
  EXPECT_EQ(States(s->port())["small"], "unloaded") << "standby was emptied to make room";
  ASSERT_TRUE(SwitchTo(s->port(), "small"));
}

TEST_F(StandbyTest, ALoadFailureLeavesStandbyModelsUsable) {
  std::vector<ModelEntry> models = StandardModels();
  TempDir dir;
  const std::string garbage = (dir.path() / "garbage.gguf").string();
  std::ofstream(garbage) << "not a gguf file";
  models.push_back({"broken", garbage, "f16", ""});
  Server* s = StartServer(ConfigYaml("tiny", models, "standby_bytes: 1073741824\n"), {}, "tiny");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(SwitchTo(s->port(), "small"));
  const HttpResponse r = PostJson(s->port(), "/infer",
                                  InferBody("hello", 1, {{"model", "broken"}, {"stream", false}}));
  ExpectErrorResponse(r, 500, "load_failed");
  ASSERT_TRUE(s->WaitReady("small", Millis(60000)));
  EXPECT_EQ(States(s->port())["tiny"], "standby");
  ASSERT_TRUE(SwitchTo(s->port(), "tiny"));
  EXPECT_EQ(s->LogsWithMsg("switch").back().value("standby", false), true);
}

// 100 switches between small and tiny with room for both in standby: RSS
// after each stays within what the active model takes without standby plus
// the budget plus 5 MiB, and standby never counts more than the budget.
// (Whether the kernel backs a buffer with huge pages moves RSS by ~13 MiB
// between runs on a busy machine, so no tighter bound is asserted.) The host prompt cache is off,
// so standby is the only thing that grows.
TEST_F(StandbyTest, RssOverAHundredSwitchesStaysWithinTheBudget) {
  // Room for both models (small counts about 142 MiB, tiny about 13 MiB).
  const int64_t budget = 176 * kMiB;
  const std::string no_cache = "prompt_cache_bytes: 0\n";
  const std::string extra = no_cache + "standby_bytes: " + std::to_string(budget) + "\n";
  const std::vector<ModelEntry> models = {
      {"tiny", ModelFile("tiny.gguf"), "f16", "    ctx_size: 512\n"},
      {"small", ModelFile("small.gguf"), "q8_0", "    ctx_size: 512\n"}};
  // RSS is read once modeld has given freed heap back after a switch (it
  // logs that line, with a running count, when idle after each load).
  auto settled = [](Server* srv, int n) {
    return srv
        ->WaitForLog(
            [&](const json& l) {
              return Str(l, "msg") == "free memory released" && l.value("count", 0) >= n;
            },
            Millis(30000))
        .has_value();
  };
  // What each model takes with nothing in standby, after the same switches
  // (so the same per-model vocabularies are cached for request checks).
  std::map<std::string, int64_t> base;
  Server* plain = StartServer(ConfigYaml("small", models, no_cache), {}, "small");
  ASSERT_NE(plain, nullptr);
  for (int i = 1; i <= 4; ++i) {
    const std::string to = i % 2 ? "tiny" : "small";
    ASSERT_TRUE(SwitchTo(plain->port(), to));
    ASSERT_TRUE(settled(plain, i + 1));
    base[to] = RssBytes(plain->process().pid());
    ASSERT_GT(base[to], 0);
  }
  Server* s = StartServer(ConfigYaml("small", models, extra), {}, "small");
  ASSERT_NE(s, nullptr);
  const int64_t limit_slack = 5 * kMiB;
  for (int i = 1; i <= 100; ++i) {
    const std::string to = i % 2 ? "tiny" : "small";
    ASSERT_TRUE(SwitchTo(s->port(), to)) << "switch " << i;
    ASSERT_TRUE(settled(s, i + 1)) << "switch " << i;
    const int64_t rss = RssBytes(s->process().pid());
    const std::optional<double> counted = s->Metric("modeld_standby_bytes");
    ASSERT_TRUE(counted.has_value());
    ASSERT_LE(*counted, static_cast<double>(budget));
    ASSERT_LE(rss, base[to] + budget + limit_slack)
        << "switch " << i << " to " << to << ": RSS " << rss / kMiB << " MiB, without standby "
        << base[to] / kMiB << " MiB, standby counts " << *counted / kMiB << " MiB";
  }
  EXPECT_EQ(s->Metric("modeld_standby_hits_total"), 99.0) << "every switch but the first";
}

}  // namespace
}  // namespace modeld::blackbox
