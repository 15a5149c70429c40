#include "internal/registry/model_dirs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace modeld::registry {
namespace {

namespace fs = std::filesystem;

// A folder of empty files; the fake reader gives the header.
class ModelDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("modeld-dirs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const std::string& rel) { std::ofstream(dir_ / rel) << "x"; }
  std::string Dir(const std::string& rel) const { return (dir_ / rel).string(); }

  static Result<llm::GgufInfo> Reader(const std::string& path) {
    if (path.find("broken") != std::string::npos) {
      return Status::InvalidRequest(path + ": not a valid GGUF file");
    }
    llm::GgufInfo info;
    if (path.find("bare") == std::string::npos) {
      info.name = "Name of " + fs::path(path).filename().string();
      info.architecture = "llama";
      info.quant = "q8_0";
    }
    return info;
  }

  fs::path dir_;
};

TEST(ModelIdFromFileNameTest, Table) {
  struct Case {
    const char* file;
    const char* id;
    int part, parts;
  } cases[] = {
      {"llama-8b.Q4_K_M.gguf", "llama-8b.Q4_K_M", 0, 0},
      {"big-00001-of-00003.gguf", "big", 1, 3},
      {"big-00002-of-00003.gguf", "big", 2, 3},
      {"x-00004-of-00003.gguf", "x-00004-of-00003", 0, 0},  // not a valid split suffix
      {"notes.txt", "", 0, 0},
      {".hidden.gguf", "", 0, 0},
      {".gguf", "", 0, 0},
      {"model.GGUF", "", 0, 0},
  };
  for (const Case& c : cases) {
    int part = -1, parts = -1;
    EXPECT_EQ(ModelIdFromFileName(c.file, &part, &parts), c.id) << c.file;
    EXPECT_EQ(part, c.part) << c.file;
    EXPECT_EQ(parts, c.parts) << c.file;
  }
}

TEST_F(ModelDirsTest, EveryGgufBecomesAnEntryWithHeaderFields) {
  Touch("a/zeta.gguf");
  Touch("a/alpha.gguf");
  Touch("a/bare.gguf");
  Touch("a/readme.md");
  DirScan scan = ScanModelDirs({Dir("a")}, Reader);
  ASSERT_TRUE(scan.error.ok()) << scan.error.message();
  ASSERT_EQ(scan.models.size(), 3u);
  EXPECT_EQ(scan.models[0].id, "alpha");  // sorted by file name
  EXPECT_EQ(scan.models[0].name, "Name of alpha.gguf");
  EXPECT_EQ(scan.models[0].family, "llama");
  EXPECT_EQ(scan.models[0].quant, "q8_0");
  EXPECT_EQ(scan.models[0].path, Dir("a/alpha.gguf"));
  EXPECT_TRUE(scan.models[0].exists);
  EXPECT_EQ(scan.models[1].id, "bare");  // no metadata: defaults
  EXPECT_EQ(scan.models[1].name, "bare");
  EXPECT_EQ(scan.models[1].family, "unknown");
  EXPECT_EQ(scan.models[1].quant, "unknown");
  EXPECT_EQ(scan.models[2].id, "zeta");
  EXPECT_TRUE(scan.skipped.empty());
}

TEST_F(ModelDirsTest, SplitFilesCountAsOneModelLoadedFromTheFirstPart) {
  Touch("a/big-00001-of-00002.gguf");
  Touch("a/big-00002-of-00002.gguf");
  Touch("a/mmproj-big.gguf");  // a projector, not a model
  DirScan scan = ScanModelDirs({Dir("a")}, Reader);
  ASSERT_EQ(scan.models.size(), 1u);
  EXPECT_EQ(scan.models[0].id, "big");
  EXPECT_EQ(scan.models[0].path, Dir("a/big-00001-of-00002.gguf"));
  EXPECT_TRUE(scan.skipped.empty());
}

TEST_F(ModelDirsTest, BadFilesAreSkippedWithAReason) {
  Touch("a/broken.gguf");
  Touch("a/has space.gguf");
  Touch("a/ok.gguf");
  Touch("b/ok.gguf");  // the first folder gave "ok" already
  DirScan scan = ScanModelDirs({Dir("a"), Dir("b")}, Reader);
  ASSERT_TRUE(scan.error.ok());
  ASSERT_EQ(scan.models.size(), 1u);
  EXPECT_EQ(scan.models[0].path, Dir("a/ok.gguf"));
  ASSERT_EQ(scan.skipped.size(), 3u);
  std::string all;
  for (const auto& s : scan.skipped) all += s + "\n";
  EXPECT_NE(all.find("not a valid GGUF"), std::string::npos) << all;
  EXPECT_NE(all.find("cannot be a model id"), std::string::npos) << all;
  EXPECT_NE(all.find("already comes from " + Dir("a/ok.gguf")), std::string::npos) << all;
}

TEST_F(ModelDirsTest, AFolderThatCannotBeListedIsAnError) {
  DirScan scan = ScanModelDirs({Dir("missing")}, Reader);
  EXPECT_FALSE(scan.error.ok());
  EXPECT_NE(scan.error.message().find("missing"), std::string::npos) << scan.error.message();
}

}  // namespace
}  // namespace modeld::registry
