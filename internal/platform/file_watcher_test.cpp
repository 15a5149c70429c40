#include "internal/platform/file_watcher.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace modeld::platform {
namespace {

namespace fs = std::filesystem;

// Counts on_change calls; Wait blocks until one more arrives (hang guard:
// a generous timeout, not an ordering device).
class Calls {
 public:
  void Add() {
    std::lock_guard lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool WaitFor(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return n_ >= n; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

class FileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("modeld-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileWatcherTest, ARenameOverTheFileIsOneChange) {
  Calls calls;
  auto w = FileWatcher::Start({{dir_.string(), [](std::string_view n) { return n == "c.yaml"; }}},
                              std::chrono::milliseconds(100), [&] { calls.Add(); });
  ASSERT_TRUE(w.ok()) << w.status().message();
  // An editor's save: write a temp file, rename it over the original.
  std::ofstream(dir_ / "c.yaml.tmp") << "a: 1\n";
  fs::rename(dir_ / "c.yaml.tmp", dir_ / "c.yaml");
  ASSERT_TRUE(calls.WaitFor(1));
  // Another burst: a plain write.
  std::ofstream(dir_ / "c.yaml") << "a: 2\n";
  ASSERT_TRUE(calls.WaitFor(2));
  w->reset();  // joins: no call can come after
  EXPECT_EQ(calls.count(), 2);
}

TEST_F(FileWatcherTest, OtherNamesAreIgnored) {
  Calls calls;
  auto w = FileWatcher::Start({{dir_.string(), [](std::string_view n) { return n == "c.yaml"; }}},
                              std::chrono::milliseconds(50), [&] { calls.Add(); });
  ASSERT_TRUE(w.ok());
  std::ofstream(dir_ / "other.txt") << "x";
  std::ofstream(dir_ / "c.yaml") << "x";  // a marker after the ignored one
  ASSERT_TRUE(calls.WaitFor(1));
  w->reset();
  EXPECT_EQ(calls.count(), 1);  // the ignored file gave no call of its own
}

TEST_F(FileWatcherTest, AMissingFolderIsAnError) {
  auto w = FileWatcher::Start({{(dir_ / "nope").string(), [](std::string_view) { return true; }}},
                              std::chrono::milliseconds(50), [] {});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace modeld::platform
