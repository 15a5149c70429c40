#include "internal/log/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace modeld::log {
namespace {

using nlohmann::json;

// Captures log lines in a string for one test and restores the defaults after.
class CaptureLog {
 public:
  CaptureLog() { SetSinkForTest(&out_); }
  ~CaptureLog() {
    SetSinkForTest(nullptr);
    SetLevel(Level::kInfo);
  }
  std::vector<json> Lines() const {
    std::vector<json> lines;
    std::istringstream in(out_);
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    return lines;
  }
  const std::string& raw() const { return out_; }

 private:
  std::string out_;
};

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(LogTest, LineHasTsLevelMsgAndFields) {
  CaptureLog cap;
  Info("request", {{"method", "POST"}, {"status", 200}});
  ASSERT_EQ(cap.raw().back(), '\n');
  auto lines = cap.Lines();
  ASSERT_EQ(lines.size(), 1u);
  const json& j = lines[0];
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "request");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["status"], 200);
  EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  // ts, level and msg lead the line so it reads well in a terminal.
  EXPECT_EQ(cap.raw().rfind("{\"ts\":", 0), 0u);
  EXPECT_LT(cap.raw().find("\"level\""), cap.raw().find("\"msg\""));
}

TEST(LogTest, TimestampIsRfc3339UtcWithMillis) {
  using namespace std::chrono;
  EXPECT_EQ(FormatTimestamp(system_clock::time_point(milliseconds(1700000000123))),
            "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatTimestamp(system_clock::time_point(milliseconds(-1))),
            "1969-12-31T23:59:59.999Z");
}

TEST(LogTest, DefaultLevelIsInfoAndFiltersDebug) {
  CaptureLog cap;
  EXPECT_EQ(GetLevel(), Level::kInfo);
  Debug("hidden");
  Info("shown");
  auto lines = cap.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "shown");
}

TEST(LogTest, LevelFilteringAtEachLevel) {
  struct Case {
    const char* set;
    std::vector<std::string> expect;
  };
  const Case cases[] = {
      {"debug", {"debug", "info", "warn", "error"}},
      {"info", {"info", "warn", "error"}},
      {"WARN", {"warn", "error"}},
      {"warning", {"warn", "error"}},
      {"error", {"error"}},
  };
  for (const Case& c : cases) {
    CaptureLog cap;
    ASSERT_TRUE(SetLevel(c.set).ok()) << c.set;
    Debug("m");
    Info("m");
    Warn("m");
    Error("m");
    std::vector<std::string> got;
    for (const json& j : cap.Lines()) got.push_back(j["level"]);
    EXPECT_EQ(got, c.expect) << "level " << c.set;
  }
}

TEST(LogTest, UnknownLevelIsAnErrorAndKeepsTheLevel) {
  CaptureLog cap;
  SetLevel(Level::kWarn);
  Status s = SetLevel("verbose");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidRequest);
  EXPECT_NE(s.message().find("\"verbose\""), std::string::npos) << s.message();
  EXPECT_EQ(GetLevel(), Level::kWarn);
  EXPECT_FALSE(SetLevel("").ok());
}

TEST(LogTest, InvalidUtf8IsReplacedNotThrown) {
  CaptureLog cap;
  const std::string bad = "a\xff\xc3";
  EXPECT_NO_THROW(Warn(bad, {{bad, bad}, {"ok", "x"}}));
  auto lines = cap.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["msg"], "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(lines[0]["a\xEF\xBF\xBD\xEF\xBF\xBD"], "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(lines[0]["ok"], "x");
}

TEST(LogTest, ReservedAndNonObjectFieldsKeepKeysUnique) {
  CaptureLog cap;
  Info("real", {{"msg", "fake"}, {"level", 1}});
  Info("list", json::array({1, 2}));
  auto lines = cap.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "real");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["_msg"], "fake");
  EXPECT_EQ(lines[0]["_level"], 1);
  // No key may appear twice in the raw text of the line.
  const std::string first = SplitLines(cap.raw())[0];
  EXPECT_EQ(first.find("\"msg\"", first.find("\"msg\"") + 1), std::string::npos) << first;
  EXPECT_EQ(lines[1]["fields"], json::array({1, 2}));
}

constexpr int kThreads = 8;
constexpr int kPerThread = 400;

// Logs from several threads with lines long enough that any interleaving of
// partial writes would corrupt them.
void LogConcurrently() {
  const std::string pad(300, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &pad] {
      for (int i = 0; i < kPerThread; ++i) Info("tick", {{"thread", t}, {"i", i}, {"pad", pad}});
    });
  }
  for (auto& th : threads) th.join();
}

void ExpectWholeLines(const std::string& text) {
  auto lines = SplitLines(text);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::pair<int, int>> seen;
  for (const std::string& line : lines) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not one JSON object: " << line.substr(0, 120);
    seen.emplace(j["thread"].get<int>(), j["i"].get<int>());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(LogTest, ConcurrentLinesStayWholeInSink) {
  CaptureLog cap;
  LogConcurrently();
  ExpectWholeLines(cap.raw());
}

TEST(LogTest, ConcurrentLinesStayWholeOnStderr) {
  // Point fd 2 at a temp file for the duration, so the real write(2) path runs.
  char path[] = "/tmp/modeld_log_test_XXXXXX";
  int file = mkstemp(path);
  ASSERT_GE(file, 0);
  std::fflush(stderr);
  int saved = dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(file, STDERR_FILENO), 0);
  LogConcurrently();
  dup2(saved, STDERR_FILENO);
  close(saved);

  std::string text;
  lseek(file, 0, SEEK_SET);
  char buf[65536];
  for (ssize_t n; (n = read(file, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(file);
  unlink(path);
  ExpectWholeLines(text);
}

}  // namespace
}  // namespace modeld::log
