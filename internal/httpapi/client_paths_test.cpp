#include "internal/httpapi/client_paths.h"

#include <gtest/gtest.h>

namespace modeld::httpapi {
namespace {

TEST(ClientPathsTest, AbsolutePathsBecomeFileNames) {
  const ClientPaths paths({"/srv/my models/tiny.gguf", "relative.gguf"}, /*expose=*/false);
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"loading model 'tiny' failed: model file not found: /srv/my models/tiny.gguf",
       "loading model 'tiny' failed: model file not found: tiny.gguf"},
      {"model file not readable: /data/x/a.gguf: Permission denied",
       "model file not readable: a.gguf: Permission denied"},
      {"failed to load model 'b' from /opt/m/b.gguf: llama_model_load: error loading model: "
       "failed to open '/opt/m/b.gguf'",
       "failed to load model 'b' from b.gguf: llama_model_load: error loading model: "
       "failed to open 'b.gguf'"},
      {"(/tmp/x/y.gguf)", "(y.gguf)"},
      {"/abs/start.gguf, then more", "start.gguf, then more"},
      {"path=/a/b/c", "path=c"},
      {"a dir /a/b/ here", "a dir b here"},
      // Not filesystem paths: left alone.
      {"POST /infer and 1/2 and tokens/s", "POST /infer and 1/2 and tokens/s"},
      {"see https://example.com/a/b", "see https://example.com/a/b"},
      {"no paths here", "no paths here"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(paths.Redact(c.in), c.out) << c.in;
}

TEST(ClientPathsTest, ExposeKeepsEverything) {
  const ClientPaths paths({"/srv/m/tiny.gguf"}, /*expose=*/true);
  EXPECT_TRUE(paths.expose());
  EXPECT_EQ(paths.Redact("not found: /srv/m/tiny.gguf"), "not found: /srv/m/tiny.gguf");
  EXPECT_FALSE(ClientPaths().expose());
}

TEST(ClientPathsTest, StatusKeepsItsCode) {
  const ClientPaths paths;
  const Status s = paths.Redact(Status::LoadFailed("model file not found: /a/b/c.gguf"));
  EXPECT_EQ(s.code(), Code::kLoadFailed);
  EXPECT_EQ(s.message(), "model file not found: c.gguf");
  EXPECT_TRUE(paths.Redact(Status::Ok()).ok());
}

}  // namespace
}  // namespace modeld::httpapi
