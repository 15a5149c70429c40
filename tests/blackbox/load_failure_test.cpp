// Issue 3, rules 3 and 12: a model whose file is missing, truncated or not a
// GGUF at all fails cleanly with 500 load_failed (a real status, not a
// stream) and the service comes back ready on the previous model.

#include <fstream>
#include <thread>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

class LoadFailureTest : public BlackboxTest {
 protected:
  // Starts tiny/tiny-b/small plus a "broken" entry at `path`, tiny loaded.
  Server* StartWithBroken(const std::string& path) {
    auto models = StandardModels();
    models.push_back({"broken", path, "f16", ""});
    return StartServer(ConfigYaml("tiny", models), {}, "tiny");
  }
  // Copies the first `bytes` bytes of models/tiny.gguf (all when -1).
  std::string WriteBrokenFile(const std::string& name, long bytes, const std::string& content) {
    const auto path = (dir_.path() / name).string();
    std::ofstream out(path, std::ios::binary);
    if (bytes >= 0) {
      std::ifstream in(ModelFile("tiny.gguf"), std::ios::binary);
      std::string data(static_cast<size_t>(bytes), '\0');
      in.read(data.data(), bytes);
      out.write(data.data(), in.gcount());
    } else {
      out << content;
    }
    return path;
  }
  // The whole failure-and-restore sequence for one broken file.
  void ExpectFailsAndRestores(Server* s, bool stream) {
    auto r = PostJson(s->port(), "/infer",
                      InferBody("will fail", 4, {{"model", "broken"}, {"stream", stream}}));
    ExpectErrorResponse(r, 500, "load_failed");
    EXPECT_NE(r.Header("content-type").find("json"), std::string::npos)
        << "a failed load must be a real 500, not a stream";
    ASSERT_TRUE(s->WaitReady("tiny", Millis(10000)))
        << "not ready on the previous model; /readyz: " << Get(s->port(), "/readyz").body;
    ExpectCompleted(Infer(s->port(), InferBody("after the failure", 4)), "tiny");
    auto models = Get(s->port(), "/models").Json();
    EXPECT_EQ(models["current"], "tiny") << models;
    bool failed_logged = false;
    for (const auto& l : s->LogsWithMsg("switch")) {
      if (Str(l, "to") != "broken") continue;
      EXPECT_EQ(Str(l, "outcome"), "failed") << l;
      EXPECT_FALSE(Str(l, "error").empty()) << l;
      failed_logged = true;
    }
    EXPECT_TRUE(failed_logged) << "no switch line with outcome failed";
  }
  TempDir dir_;
};

TEST_F(LoadFailureTest, MissingFileIs500LoadFailedAndRestoresThePreviousModel) {
  const std::string path = (dir_.path() / "does-not-exist.gguf").string();
  Server* s = StartWithBroken(path);
  ASSERT_NE(s, nullptr);
  ExpectFailsAndRestores(s, /*stream=*/true);
  // The message gives the reason (it names the file or says it is missing).
  auto r = PostJson(s->port(), "/infer", InferBody("again", 4, {{"model", "broken"}}));
  ExpectErrorResponse(r, 500, "load_failed");
  const std::string message = Str(r.Json()["error"], "message");
  EXPECT_TRUE(message.find("does-not-exist.gguf") != std::string::npos ||
              message.find("o such file") != std::string::npos ||
              message.find("not found") != std::string::npos ||
              message.find("missing") != std::string::npos)
      << message;
  ASSERT_TRUE(s->WaitReady("tiny", Millis(10000)));
}

TEST_F(LoadFailureTest, TruncatedGgufIs500LoadFailedAndRestoresThePreviousModel) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(ModelFile("tiny.gguf"), ec);
  ASSERT_FALSE(ec);
  Server* s = StartWithBroken(WriteBrokenFile("half.gguf", static_cast<long>(size / 2), ""));
  ASSERT_NE(s, nullptr);
  ExpectFailsAndRestores(s, /*stream=*/true);
}

TEST_F(LoadFailureTest, NotAGgufIs500LoadFailedForNonStreamingToo) {
  Server* s = StartWithBroken(WriteBrokenFile("junk.gguf", -1, "this is not a gguf file\n"));
  ASSERT_NE(s, nullptr);
  ExpectFailsAndRestores(s, /*stream=*/false);
}

TEST_F(LoadFailureTest, HeaderOnlyGgufFails) {
  Server* s = StartWithBroken(WriteBrokenFile("header.gguf", 64, ""));
  ASSERT_NE(s, nullptr);
  ExpectFailsAndRestores(s, /*stream=*/true);
}

TEST_F(LoadFailureTest, RepeatedFailuresNeverWedgeTheService) {
  Server* s = StartWithBroken((dir_.path() / "gone.gguf").string());
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 3; ++i) {
    ExpectErrorResponse(PostJson(s->port(), "/infer", InferBody("fail", 2, {{"model", "broken"}})),
                        500, "load_failed");
    ExpectCompleted(Infer(s->port(), InferBody("ok", 2, {{"model", "tiny-b"}})), "tiny-b");
  }
  EXPECT_TRUE(s->WaitReady("tiny-b", Millis(5000)));
  EXPECT_EQ(Get(s->port(), "/healthz").status, 200);
}

TEST_F(LoadFailureTest, MissingFileAtStartupIsAWarningNotAnExit) {
  const std::string path = (dir_.path() / "absent.gguf").string();
  Server* s = StartWithBroken(path);
  ASSERT_NE(s, nullptr);
  bool warned = false;
  for (const auto& l : s->Logs()) {
    if (Str(l, "level") == "warn" && l.dump().find("absent.gguf") != std::string::npos) {
      warned = true;
    }
  }
  EXPECT_TRUE(warned) << "no warn line naming the missing file";
  auto models = Get(s->port(), "/models").Json();
  bool listed = false;
  for (const auto& m : models["models"]) {
    if (m["id"] == "broken") {
      listed = true;
      EXPECT_FALSE(m["loaded"].get<bool>());
    }
  }
  EXPECT_TRUE(listed) << models;
  EXPECT_TRUE(s->WaitReady("tiny", Millis(5000)));
}

}  // namespace
}  // namespace modeld::blackbox
