#pragma once

// The real bin/modeld under test: a config written to a temp dir, the
// process on an ephemeral port, and its JSON log lines.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/blackbox/process.h"

namespace modeld::blackbox {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Paths of the binary and the generated test models (compile definitions;
// $MODELD_BLACKBOX_BIN overrides the binary).
std::string ModeldBin();
std::string SourceDir();
std::string ModelFile(const std::string& file);  // e.g. "tiny.gguf"
// Empty when tiny.gguf, tiny-b.gguf and small.gguf exist, else what to do.
std::string MissingModelsMessage();

// One `models:` entry of the config.
struct ModelEntry {
  std::string id;
  std::string path;
  std::string quant = "f16";
  std::string extra;  // more yaml lines for the entry, each "    key: value\n"
};

// Builds a config yaml: `default_model` (omitted when empty), the entries,
// then `extra` top-level lines.
std::string ConfigYaml(const std::string& default_model, const std::vector<ModelEntry>& models,
                       const std::string& extra = "");
// The usual entries: tiny, tiny-b and small from models/.
std::vector<ModelEntry> StandardModels();

struct ServerOptions {
  std::vector<std::string> extra_args;
  // --threads (0: leave it out). One llama.cpp thread: with more, ggml's
  // spinning thread pool slows to ~1 tok/s when other work shares the cores.
  int threads = 1;
  std::map<std::string, std::string> env;
  Millis startup_timeout = Millis(30000);
};

// A running modeld. Thread-safe for the accessors (they copy).
class Server {
 public:
  // Writes `yaml` to <tmp>/models.yaml and starts modeld on it. Returns
  // nullptr with `error` set if it did not report "listening" in time.
  static std::unique_ptr<Server> Start(const std::string& yaml, std::string* error,
                                       const ServerOptions& options = {});
  // Starts modeld with exactly these arguments (no --config/--host/--port
  // added) and waits for "listening".
  static std::unique_ptr<Server> StartRaw(const ProcessSpec& spec, std::string* error,
                                          Millis timeout);

  int port() const { return port_; }
  ChildProcess& process() { return *child_; }
  const std::filesystem::path& dir() const { return dir_->path(); }
  std::string config_path() const { return (dir_->path() / "models.yaml").string(); }

  std::vector<std::string> StderrLines() const { return child_->StderrLines(); }
  // Parsed log lines (lines that are not JSON are skipped here).
  std::vector<nlohmann::json> Logs() const;
  // Log lines whose "msg" equals `msg`.
  std::vector<nlohmann::json> LogsWithMsg(const std::string& msg) const;
  // Waits for a log line matching `pred`; nullopt on timeout.
  std::optional<nlohmann::json> WaitForLog(const std::function<bool(const nlohmann::json&)>& pred,
                                           Millis timeout);
  // Polls GET /metrics until the sample `series` (e.g. `modeld_queue_depth`
  // or `x{label="v"}`) exists and satisfies `pred`; false on timeout. A
  // series that never appears is a timeout, never a zero.
  bool WaitForMetric(const std::string& series, const std::function<bool(double)>& pred,
                     Millis timeout);
  // The current value of a sample, nullopt when /metrics lacks it.
  std::optional<double> Metric(const std::string& series);
  // Waits for the `"msg":"state"` line saying `model` began loading.
  bool WaitForLoadStart(const std::string& model, Millis timeout);
  // Polls GET /readyz until it answers 200 with `model`; false on timeout.
  bool WaitReady(const std::string& model, Millis timeout);

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

// True when the log line is a `"msg":"switch"` line to `to`.
bool IsSwitchTo(const nlohmann::json& line, const std::string& to);
// The string field `key` of a JSON object, "" when absent or not a string.
std::string Str(const nlohmann::json& j, const std::string& key);

}  // namespace modeld::blackbox
