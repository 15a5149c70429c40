// Hardening: clients never see absolute filesystem paths unless modeld runs
// with --expose-paths (logs keep them), and /models reports whether a model
// file exists when it is asked, not when the registry was read.

#include <fstream>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class PathsTest : public BlackboxTest {
 protected:
  // tiny plus "ghost", whose file is missing from dir_; nothing loaded.
  Server* StartWithGhost(std::vector<std::string> args = {}) {
    auto models = StandardModels();
    models.push_back({"ghost", ghost_, "f16", ""});
    ServerOptions options;
    options.extra_args = std::move(args);
    return StartServer(ConfigYaml("", models), options);
  }
  TempDir dir_;
  const std::string ghost_ = (dir_.path() / "ghost-file.gguf").string();
};

TEST_F(PathsTest, LoadFailuresNameTheFileButNotTheFolder) {
  Server* s = StartWithGhost();
  ASSERT_NE(s, nullptr);
  const std::string folder = dir_.path().string();
  std::vector<std::string> messages;
  for (bool stream : {true, false}) {
    auto r =
        PostJson(s->port(), "/infer", InferBody("x", 2, {{"model", "ghost"}, {"stream", stream}}));
    ExpectErrorResponse(r, 500, "load_failed");
    messages.push_back(Str(r.Json()["error"], "message"));
  }
  auto chat =
      PostJson(s->port(), "/v1/chat/completions",
               json::parse(R"({"model":"ghost","messages":[{"role":"user","content":"hi"}]})"));
  ExpectErrorResponse(chat, 500, "load_failed");
  messages.push_back(Str(chat.Json()["error"], "message"));
  // Nothing to restore: /readyz stays failed, naming the model and the reason.
  auto ready = Get(s->port(), "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(Str(ready.Json(), "status"), "failed") << ready.body;
  EXPECT_EQ(Str(ready.Json(), "model"), "ghost") << ready.body;
  messages.push_back(Str(ready.Json(), "error"));
  for (const auto& m : messages) {
    EXPECT_EQ(m.find(folder), std::string::npos) << m;
    EXPECT_NE(m.find("ghost-file.gguf"), std::string::npos) << m;
  }
  // The log keeps the whole path for the operator.
  bool logged = false;
  for (const auto& l : s->LogsWithMsg("switch")) {
    if (Str(l, "to") == "ghost") logged |= Str(l, "error").find(ghost_) != std::string::npos;
  }
  EXPECT_TRUE(logged) << "no switch line with the full path";
}

TEST_F(PathsTest, ExposePathsShowsThemToClients) {
  Server* s = StartWithGhost({"--expose-paths"});
  ASSERT_NE(s, nullptr);
  auto r = PostJson(s->port(), "/infer", InferBody("x", 2, {{"model", "ghost"}}));
  ExpectErrorResponse(r, 500, "load_failed");
  EXPECT_NE(Str(r.Json()["error"], "message").find(ghost_), std::string::npos) << r.body;
  auto models = Get(s->port(), "/models").Json();
  ASSERT_TRUE(models["models"].is_array()) << models;
  for (const auto& m : models["models"]) {
    ASSERT_TRUE(m.contains("path") && m["path"].is_string()) << m;
    EXPECT_EQ(m["path"].get<std::string>().front(), '/') << m;
  }
  EXPECT_EQ(models["models"][3]["path"], ghost_);
}

TEST_F(PathsTest, ModelsLeavesOutPathsByDefault) {
  Server* s = StartWithGhost();
  ASSERT_NE(s, nullptr);
  auto r = Get(s->port(), "/models");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(dir_.path().string()), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(MODELD_MODELS_DIR), std::string::npos) << r.body;
  // Held: a range-for over a temporary's member would read freed memory (TSan found it).
  const nlohmann::json body = r.Json();
  for (const auto& m : body["models"]) EXPECT_FALSE(m.contains("path")) << m;
}

TEST_F(PathsTest, FileExistsIsCheckedAtRequestTime) {
  const std::string copy = (dir_.path() / "copy.gguf").string();
  std::filesystem::copy_file(ModelFile("tiny.gguf"), copy);
  auto models = StandardModels();
  models.push_back({"copy", copy, "f16", ""});
  Server* s = StartServer(ConfigYaml("tiny", models), {}, "tiny");
  ASSERT_NE(s, nullptr);
  auto exists = [s] {
    auto j = Get(s->port(), "/models").Json();
    return j["models"][3]["id"] == "copy" && j["models"][3]["file_exists"] == true;
  };
  EXPECT_TRUE(exists());
  std::filesystem::remove(copy);
  EXPECT_FALSE(exists());
  std::filesystem::copy_file(ModelFile("tiny.gguf"), copy);
  EXPECT_TRUE(exists());
}

}  // namespace
}  // namespace modeld::blackbox
