#include "internal/registry/reloader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "internal/log/log.h"

namespace modeld::registry {
namespace {

namespace fs = std::filesystem;

Result<llm::GgufInfo> FakeReader(const std::string& path) {
  if (path.find("broken") != std::string::npos) {
    return Status::InvalidRequest(path + ": not a valid GGUF file");
  }
  return llm::GgufInfo{"n", "llama", "f16"};
}

// A config file and a models folder of empty files in a temp dir.
class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("modeld-reload-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "models");
    Touch("a.gguf");
    Touch("b.gguf");
    log::SetSinkForTest(&log_);
  }
  void TearDown() override {
    log::SetSinkForTest(nullptr);
    fs::remove_all(dir_);
  }
  void Touch(const std::string& name) { std::ofstream(dir_ / "models" / name) << "x"; }
  std::string Config() const { return (dir_ / "models.yaml").string(); }
  void Write(const std::string& yaml) { std::ofstream(Config()) << yaml; }
  ConfigSource Source(bool with_dir) const {
    ConfigSource s;
    s.config = Config();
    if (with_dir) s.model_dirs = {(dir_ / "models").string()};
    s.read_gguf = FakeReader;
    return s;
  }
  static std::string Entry(const std::string& id, const std::string& extra = "") {
    return "  - id: " + id + "\n    name: " + id + "\n    path: models/" + id +
           ".gguf\n    quant: q8_0\n    family: llama\n" + extra;
  }

  fs::path dir_;
  std::string log_;
};

TEST_F(ReloadTest, TheYamlEntryWinsAnIdConflictWithAFolder) {
  Write("models:\n" + Entry("a"));
  Touch("c.gguf");
  Result<LoadedRegistry> r = LoadRegistry(Source(true));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->registry->models().size(), 3u);
  EXPECT_EQ(r->registry->models()[0].id, "a");
  EXPECT_EQ(r->registry->models()[0].quant, "q8_0");  // the YAML's, not the header's f16
  EXPECT_EQ(r->registry->Find("b")->quant, "f16");
  EXPECT_EQ(r->registry->Find("c")->parallel, kDefaultParallel);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("shadowed"), std::string::npos) << r->warnings[0];
}

TEST_F(ReloadTest, AFolderAloneNeedsNoYaml) {
  ConfigSource s = Source(true);
  s.config.clear();
  Result<LoadedRegistry> r = LoadRegistry(s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->registry->ValidIds(), "a, b");
  EXPECT_EQ(r->registry->default_model(), "");
}

TEST_F(ReloadTest, AYamlWithoutModelsIsFineBesideAFolder) {
  Write("max_queue: 3\n");
  Result<LoadedRegistry> r = LoadRegistry(Source(true));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->registry->max_queue(), 3);
  EXPECT_EQ(r->registry->models().size(), 2u);
  EXPECT_FALSE(LoadRegistry(Source(false)).ok());  // without a folder, models are required
}

TEST_F(ReloadTest, CheckListsEveryProblem) {
  Write("models:\n" + Entry("a", "    ctx_size: abc\n") + Entry("b", "    bogus: 1\n") +
        Entry("gone") + "max_queue: -1\n");
  Touch("broken.gguf");
  std::vector<std::string> problems = CheckRegistry(Source(true));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  ASSERT_EQ(problems.size(), 4u) << all;
  EXPECT_NE(all.find("models.yaml:7: models[0].ctx_size"), std::string::npos) << all;
  EXPECT_NE(all.find("models[1]"), std::string::npos) << all;
  EXPECT_NE(all.find("bogus"), std::string::npos) << all;
  EXPECT_NE(all.find("max_queue"), std::string::npos) << all;
  EXPECT_NE(all.find("broken.gguf: not a valid GGUF file"), std::string::npos) << all;
}

TEST_F(ReloadTest, CheckReportsMissingAndInvalidModelFiles) {
  Write("models:\n" + Entry("a") + Entry("gone") + Entry("broken"));
  Touch("broken.gguf");
  std::vector<std::string> problems = CheckRegistry(Source(false));
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  ASSERT_EQ(problems.size(), 2u) << all;
  EXPECT_NE(all.find("model \"gone\": file not found"), std::string::npos) << all;
  EXPECT_NE(all.find("model \"broken\": "), std::string::npos) << all;
  Write("models:\n" + Entry("a"));
  EXPECT_TRUE(CheckRegistry(Source(false)).empty());
}

TEST_F(ReloadTest, DiffNamesAddedRemovedChangedAndRestartSettings) {
  auto before = Registry::Parse("models:\n" + Entry("a") + Entry("b") + Entry("c"), "x", "/");
  auto after = Registry::Parse(
      "max_queue: 9\nmodels:\n" + Entry("a") + Entry("b", "    ctx_size: 99\n") + Entry("d"), "x",
      "/");
  ASSERT_TRUE(before.ok() && after.ok());
  RegistryDiff d = DiffRegistries(*before, *after);
  EXPECT_EQ(d.added, std::vector<std::string>{"d"});
  EXPECT_EQ(d.removed, std::vector<std::string>{"c"});
  EXPECT_EQ(d.changed, std::vector<std::string>{"b"});
  EXPECT_EQ(d.restart_needed, std::vector<std::string>{"max_queue"});
}

TEST_F(ReloadTest, AnInvalidConfigIsRefusedAndTheOldRegistryStays) {
  Write("models:\n" + Entry("a"));
  auto first = LoadRegistry(Source(false));
  ASSERT_TRUE(first.ok());
  RegistryStore store(first->registry);
  int applied = 0;
  RegistryDiff last;
  Reloader reloader(Source(false), store, nullptr, [&](const Registry&, const RegistryDiff& d) {
    ++applied;
    last = d;
  });
  Write("models:\n" + Entry("a") + "  - id: b\n    name: [\n");  // broken YAML at line 7
  EXPECT_FALSE(reloader.Reload("test"));
  EXPECT_EQ(store.Get(), first->registry);
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(reloader.failed(), 1u);
  EXPECT_NE(log_.find("config reload refused"), std::string::npos) << log_;
  EXPECT_NE(log_.find(Config() + ":"), std::string::npos) << log_;  // names file and line

  Write("models:\n" + Entry("a") + Entry("b"));
  EXPECT_TRUE(reloader.Reload("test"));
  EXPECT_EQ(store.Get()->ValidIds(), "a, b");
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(last.added, std::vector<std::string>{"b"});
  EXPECT_EQ(reloader.succeeded(), 1u);
}

TEST_F(ReloadTest, ValidateCanRefuseARegistry) {
  Write("models:\n" + Entry("a"));
  auto first = LoadRegistry(Source(false));
  ASSERT_TRUE(first.ok());
  RegistryStore store(first->registry);
  Reloader reloader(
      Source(false), store,
      [](const Registry& r) {
        return r.Find("a") ? Status::Ok() : Status::InvalidRequest("pinned model gone");
      },
      nullptr);
  Write("models:\n" + Entry("b"));
  EXPECT_FALSE(reloader.Reload("test"));
  EXPECT_EQ(store.Get()->ValidIds(), "a");
  EXPECT_NE(log_.find("pinned model gone"), std::string::npos) << log_;
}

}  // namespace
}  // namespace modeld::registry
