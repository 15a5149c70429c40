#pragma once

// Runs the real bin/modeld (or any program) as a child process for the
// black-box tests: captures stdout/stderr line by line on a reader thread,
// finds the "listening" log line to learn the ephemeral port, sends signals
// and waits for the exit, always with a deadline.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace modeld::blackbox {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// What to start: the program, its arguments (argv[1..]) and extra
// environment variables (added to the test's own environment).
struct ProcessSpec {
  std::string program;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string cwd;  // empty: the test's working directory
};

// The result of a process that was run to its end.
struct ExitResult {
  bool exited = false;  // false: it did not end in time (it was killed)
  int exit_code = -1;   // valid when exited and not signalled
  int signal = 0;       // the signal that ended it, 0 if none
  std::string out;
  std::string err;
};

// One child process. Thread-safe: the line accessors may be called from any
// thread while the reader thread appends.
class ChildProcess {
 public:
  // Starts the program; nullptr (with `error` filled) if fork/exec failed.
  static std::unique_ptr<ChildProcess> Spawn(const ProcessSpec& spec, std::string* error);
  ~ChildProcess();  // SIGKILLs the child if it still runs, joins the reader

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int sig);

  // Waits until the child exits and both pipes are drained. nullopt on
  // timeout (the child keeps running).
  std::optional<ExitResult> WaitExit(Millis timeout);

  // Copies of the complete lines captured so far.
  std::vector<std::string> StderrLines() const;
  std::vector<std::string> StdoutLines() const;

  // Waits until some stderr line satisfies `pred` (checks old lines too);
  // returns that line, or nullopt on timeout or when the child ended first.
  std::optional<std::string> WaitForStderr(const std::function<bool(const std::string&)>& pred,
                                           Millis timeout);

 private:
  ChildProcess(pid_t pid, int out_fd, int err_fd);
  void ReadLoop();
  bool ReapLocked() /* REQUIRES(mu_) */;

  const pid_t pid_;
  int out_fd_;
  int err_fd_;
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> out_lines_;  // GUARDED_BY(mu_)
  std::vector<std::string> err_lines_;  // GUARDED_BY(mu_)
  std::string out_partial_;             // GUARDED_BY(mu_)
  std::string err_partial_;             // GUARDED_BY(mu_)
  bool pipes_closed_ = false;           // GUARDED_BY(mu_)
  bool reaped_ = false;                 // GUARDED_BY(mu_)
  int wait_status_ = 0;                 // GUARDED_BY(mu_)
};

// Runs a program to its end (killing it after `timeout`).
ExitResult RunToExit(const ProcessSpec& spec, Millis timeout);

// Parses one log line; nullopt when it is not a JSON object.
std::optional<nlohmann::json> ParseLogLine(const std::string& line);

}  // namespace modeld::blackbox
