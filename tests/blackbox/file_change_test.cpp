// Changing a model file on disk never crashes modeld: the weights are read
// into memory, not mapped, so truncating or overwriting the loaded model's
// file in place (which used to end the process with SIGBUS) only matters at
// the model's next load.

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

namespace fs = std::filesystem;

class FileChangeTest : public BlackboxTest {
 protected:
  // A server whose `own` model is a private copy of tiny, loaded and ready.
  Server* StartWithOwnCopy() {
    own_ = (dir_.path() / "own.gguf").string();
    fs::copy_file(ModelFile("tiny.gguf"), own_, fs::copy_options::overwrite_existing);
    std::vector<ModelEntry> models = StandardModels();
    models.push_back({"own", own_, "f16", ""});
    return StartServer(ConfigYaml("own", models), {}, "own");
  }
  // Overwrites `own_` in place (same inode), as `cp new.gguf loaded.gguf` does.
  void OverwriteInPlace(const std::string& from) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(own_, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  }
  void ExpectAlive(Server* s) {
    ExpectReadyz(s->port(), 200, "ready", "own");
    const auto r = Infer(s->port(), InferBody("still here", 4, {{"model", "own"}}));
    ExpectCompleted(r, "own");
    EXPECT_EQ(r.done->at("usage").at("completion_tokens"), 4);
  }

  TempDir dir_;
  std::string own_;
};

TEST_F(FileChangeTest, TruncatingTheLoadedModelsFileDoesNotCrash) {
  Server* s = StartWithOwnCopy();
  ASSERT_NE(s, nullptr);
  fs::resize_file(own_, 0);
  ExpectAlive(s);
  fs::resize_file(own_, 1000);  // a torn write: shorter than the model
  ExpectAlive(s);
}

TEST_F(FileChangeTest, OverwritingTheLoadedModelsFileInPlaceDoesNotCrash) {
  Server* s = StartWithOwnCopy();
  ASSERT_NE(s, nullptr);
  OverwriteInPlace(ModelFile("small.gguf"));
  ExpectAlive(s);
}

// After the change, the next load reads the new file: a truncated one fails
// with a clear error and the service recovers; a replaced one loads.
TEST_F(FileChangeTest, TheNextLoadSeesTheNewFile) {
  Server* s = StartWithOwnCopy();
  ASSERT_NE(s, nullptr);
  fs::resize_file(own_, 1000);
  ASSERT_TRUE(Infer(s->port(), InferBody("x", 1, {{"model", "tiny"}})).done.has_value());
  const HttpResponse r =
      PostJson(s->port(), "/infer", InferBody("x", 1, {{"model", "own"}, {"stream", false}}));
  ExpectErrorResponse(r, 500, "load_failed");
  ASSERT_TRUE(s->WaitReady("tiny", Millis(60000)));
  OverwriteInPlace(ModelFile("tiny-b.gguf"));
  const auto ok = Infer(s->port(), InferBody("x", 2, {{"model", "own"}}));
  ExpectCompleted(ok, "own");
}

}  // namespace
}  // namespace modeld::blackbox
