#pragma once

// --watch-config: inotify on the folders of the watched files. Folders, not
// files: editors and `kubectl apply` replace a file by renaming a new one
// over it, which a watch on the old inode would miss.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::platform {

struct WatchedDir {
  std::string dir;
  // Which names in `dir` count (e.g. the config's file name, or "*.gguf").
  std::function<bool(std::string_view name)> matches;
};

// Calls `on_change` once per burst of changes: after a matching event, it
// waits until `quiet` passes with no further one, so an editor's
// write-rename-chmod sequence or a copied folder gives one call.
// Thread-safety: on_change runs on the watcher's own thread; the
// destructor stops and joins it (do not destroy it from on_change).
class FileWatcher {
 public:
  static Result<std::unique_ptr<FileWatcher>> Start(std::vector<WatchedDir> dirs,
                                                    std::chrono::milliseconds quiet,
                                                    std::function<void()> on_change);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

 private:
  FileWatcher() = default;
  void Run();

  // Constant after Start.
  int inotify_fd_ = -1;
  int stop_fd_ = -1;                                 // an eventfd; written once by the destructor
  std::vector<std::pair<int, WatchedDir>> watches_;  // inotify watch descriptor -> dir
  std::chrono::milliseconds quiet_{0};
  std::function<void()> on_change_;
  std::thread thread_;
};

}  // namespace modeld::platform
