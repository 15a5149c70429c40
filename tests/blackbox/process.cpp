#include "tests/blackbox/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace modeld::blackbox {
namespace {

// Splits `chunk` into complete lines appended to `lines`; the unfinished
// tail stays in `partial`.
void AppendLines(std::string& partial, std::vector<std::string>& lines, const char* data,
                 size_t n) {
  partial.append(data, n);
  size_t start = 0;
  for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.emplace_back(partial, start, nl - start);
  }
  partial.erase(0, start);
}

std::string Join(const std::vector<std::string>& lines, const std::string& tail) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s + tail;
}

}  // namespace

std::unique_ptr<ChildProcess> ChildProcess::Spawn(const ProcessSpec& spec, std::string* error) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls are allowed (the test process has threads).
  std::vector<std::string> argv_s{spec.program};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const std::string key = kv.substr(0, kv.find('='));
    if (spec.env.count(key) == 0) env_s.push_back(kv);
  }
  for (const auto& [k, v] : spec.env) env_s.push_back(std::string(k).append("=").append(v));
  std::vector<char*> envp;
  envp.reserve(env_s.size() + 1);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return nullptr;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return nullptr;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    return nullptr;
  }
  if (pid == 0) {
    // Dies with the test (e.g. when ctest kills it on a timeout). The signal
    // is tied to the forking thread, so spawn from the test's main thread.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "exec failed\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, out_pipe[0], err_pipe[0]));
}

ChildProcess::ChildProcess(pid_t pid, int out_fd, int err_fd)
    : pid_(pid), out_fd_(out_fd), err_fd_(err_fd) {
  reader_ = std::thread([this] { ReadLoop(); });
}

ChildProcess::~ChildProcess() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!ReapLocked()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      wait_status_ = status;
    }
  }
  // The child is gone, so its pipe ends are closed and the reader sees EOF.
  reader_.join();
  ::close(out_fd_);
  ::close(err_fd_);
}

void ChildProcess::ReadLoop() {
  bool out_open = true;
  bool err_open = true;
  char buf[8192];
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0}};
    int r = ::poll(fds, 2, 200);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else if (i == 0) {
        AppendLines(out_partial_, out_lines_, buf, static_cast<size_t>(n));
      } else {
        AppendLines(err_partial_, err_lines_, buf, static_cast<size_t>(n));
      }
      cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  pipes_closed_ = true;
  cv_.notify_all();
}

bool ChildProcess::ReapLocked() {
  if (reaped_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
  }
  return reaped_;
}

bool ChildProcess::Signal(int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ReapLocked()) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<ExitResult> ChildProcess::WaitExit(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  // waitpid has no timeout, so poll it; 5 ms keeps exit times precise enough.
  while (!ReapLocked()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    cv_.wait_for(lock, 5ms);
  }
  // Drain what the child wrote just before exiting.
  cv_.wait_until(lock, std::max(deadline, std::chrono::steady_clock::now() + 1s),
                 [this] { return pipes_closed_; });
  ExitResult r;
  r.exited = true;
  if (WIFEXITED(wait_status_)) r.exit_code = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) r.signal = WTERMSIG(wait_status_);
  r.out = Join(out_lines_, out_partial_);
  r.err = Join(err_lines_, err_partial_);
  return r;
}

std::vector<std::string> ChildProcess::StderrLines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_lines_;
}

std::vector<std::string> ChildProcess::StdoutLines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_lines_;
}

std::optional<std::string> ChildProcess::WaitForStderr(
    const std::function<bool(const std::string&)>& pred, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu_);
  size_t checked = 0;
  while (true) {
    for (; checked < err_lines_.size(); ++checked) {
      if (pred(err_lines_[checked])) return err_lines_[checked];
    }
    if (pipes_closed_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && checked == err_lines_.size()) {
      return std::nullopt;
    }
  }
}

ExitResult RunToExit(const ProcessSpec& spec, Millis timeout) {
  std::string error;
  auto child = ChildProcess::Spawn(spec, &error);
  if (!child) {
    ExitResult r;
    r.err = error;
    return r;
  }
  if (auto r = child->WaitExit(timeout)) return *r;
  ExitResult r;  // timed out: the destructor kills it
  r.err = "did not exit within " + std::to_string(timeout.count()) + " ms";
  return r;
}

std::optional<nlohmann::json> ParseLogLine(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace modeld::blackbox
