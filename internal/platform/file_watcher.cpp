#include "internal/platform/file_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace modeld::platform {

Result<std::unique_ptr<FileWatcher>> FileWatcher::Start(std::vector<WatchedDir> dirs,
                                                        std::chrono::milliseconds quiet,
                                                        std::function<void()> on_change) {
  std::unique_ptr<FileWatcher> w(new FileWatcher());
  w->quiet_ = quiet;
  w->on_change_ = std::move(on_change);
  w->inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w->inotify_fd_ < 0) return Status::Internal(std::string("inotify: ") + std::strerror(errno));
  w->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->stop_fd_ < 0) return Status::Internal(std::string("eventfd: ") + std::strerror(errno));
  // Closed writes, renames in and out, deletions: what saving, copying and
  // atomically replacing a file produce.
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE;
  for (WatchedDir& d : dirs) {
    const int wd = ::inotify_add_watch(w->inotify_fd_, d.dir.c_str(), kMask);
    if (wd < 0) {
      return Status::InvalidRequest("cannot watch " + d.dir + ": " + std::strerror(errno));
    }
    w->watches_.emplace_back(wd, std::move(d));
  }
  w->thread_ = std::thread([raw = w.get()] { raw->Run(); });
  return w;
}

FileWatcher::~FileWatcher() {
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void FileWatcher::Run() {
  alignas(inotify_event) char buf[16 * 1024];
  bool pending = false;  // a matching change waits for the burst to end
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int timeout = pending ? static_cast<int>(quiet_.count()) : -1;
    const int n = ::poll(fds, 2, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (n == 0) {  // quiet for `quiet_` since the last matching event
      pending = false;
      on_change_();
      continue;
    }
    for (;;) {
      const ssize_t len = ::read(inotify_fd_, buf, sizeof(buf));
      if (len <= 0) break;  // EAGAIN: drained
      for (ssize_t off = 0; off < len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->len == 0) continue;
        const std::string_view name(ev->name);
        for (const auto& [wd, dir] : watches_) {
          if (wd == ev->wd && dir.matches(name)) pending = true;
        }
      }
    }
  }
}

}  // namespace modeld::platform
