#include "tests/blackbox/server.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/blackbox/http_client.h"

namespace modeld::blackbox {
namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != 0 ? base : "/tmp") + "/modeld-blackbox-XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

std::string ModeldBin() {
  // MODELD_BLACKBOX_BIN runs the suite against another build (e.g. an older
  // one, to see a new test fail there).
  const char* other = std::getenv("MODELD_BLACKBOX_BIN");
  return other != nullptr && *other != 0 ? other : MODELD_BIN;
}
std::string SourceDir() { return MODELD_SOURCE_DIR; }
std::string ModelFile(const std::string& file) {
  return (fs::path(MODELD_MODELS_DIR) / file).string();
}

std::string MissingModelsMessage() {
  std::string missing;
  for (const char* f : {"tiny.gguf", "tiny-b.gguf", "small.gguf", "embed.gguf"}) {
    std::error_code ec;
    if (fs::file_size(ModelFile(f), ec) == 0 || ec) missing += std::string(" ") + f;
  }
  if (missing.empty()) return "";
  return "test models missing in " + std::string(MODELD_MODELS_DIR) + ":" + missing +
         " (generate them with `scripts/models.sh test`, which `make test` runs)";
}

std::string ConfigYaml(const std::string& default_model, const std::vector<ModelEntry>& models,
                       const std::string& extra) {
  std::string y;
  if (!default_model.empty()) y += "default_model: " + default_model + "\n";
  y += "models:\n";
  for (const auto& m : models) {
    y += "  - id: " + m.id + "\n";
    y += "    name: Model " + m.id + "\n";
    y += "    path: " + nlohmann::json(m.path).dump() + "\n";
    y += "    quant: " + m.quant + "\n";
    y += "    family: llama\n";
    y += m.extra;
  }
  return y + extra;
}

std::vector<ModelEntry> StandardModels() {
  return {{"tiny", ModelFile("tiny.gguf"), "f16", ""},
          {"tiny-b", ModelFile("tiny-b.gguf"), "f16", ""},
          {"small", ModelFile("small.gguf"), "q8_0", ""}};
}

std::unique_ptr<Server> Server::Start(const std::string& yaml, std::string* error,
                                      const ServerOptions& options) {
  auto dir = std::make_unique<TempDir>();
  if (dir->path().empty()) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  const std::string config = (dir->path() / "models.yaml").string();
  std::ofstream(config) << yaml;
  ProcessSpec spec;
  spec.program = ModeldBin();
  spec.args = {"--config", config, "--host", "127.0.0.1", "--port", "0"};
  if (options.threads > 0) {
    spec.args.insert(spec.args.end(), {"--threads", std::to_string(options.threads)});
  }
  spec.args.insert(spec.args.end(), options.extra_args.begin(), options.extra_args.end());
  spec.env = options.env;
  auto server = StartRaw(spec, error, options.startup_timeout);
  if (server) server->dir_ = std::move(dir);
  return server;
}

std::unique_ptr<Server> Server::StartRaw(const ProcessSpec& spec, std::string* error,
                                         Millis timeout) {
  auto child = ChildProcess::Spawn(spec, error);
  if (!child) return nullptr;
  auto line = child->WaitForStderr(
      [](const std::string& l) {
        auto j = ParseLogLine(l);
        return j && Str(*j, "msg") == "listening" && (*j)["port"].is_number_integer();
      },
      timeout);
  if (!line) {
    *error = "modeld did not log \"listening\" within " + std::to_string(timeout.count()) +
             " ms; stderr:\n";
    for (const auto& l : child->StderrLines()) *error += l + "\n";
    return nullptr;
  }
  auto server = std::unique_ptr<Server>(new Server());
  server->port_ = (*ParseLogLine(*line))["port"].get<int>();
  server->child_ = std::move(child);
  server->dir_ = std::make_unique<TempDir>();
  return server;
}

std::vector<nlohmann::json> Server::Logs() const {
  std::vector<nlohmann::json> out;
  for (const auto& l : child_->StderrLines()) {
    if (auto j = ParseLogLine(l)) out.push_back(std::move(*j));
  }
  return out;
}

std::vector<nlohmann::json> Server::LogsWithMsg(const std::string& msg) const {
  std::vector<nlohmann::json> out;
  for (auto& j : Logs()) {
    if (Str(j, "msg") == msg) out.push_back(std::move(j));
  }
  return out;
}

std::optional<nlohmann::json> Server::WaitForLog(
    const std::function<bool(const nlohmann::json&)>& pred, Millis timeout) {
  auto line = child_->WaitForStderr(
      [&pred](const std::string& l) {
        auto j = ParseLogLine(l);
        return j && pred(*j);
      },
      timeout);
  if (!line) return std::nullopt;
  return ParseLogLine(*line);
}

bool Server::WaitReady(const std::string& model, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = Get(port_, "/readyz", Millis(2000));
    auto j = r.Json();
    if (r.status == 200 && j.is_object() && Str(j, "model") == model) return true;
    std::this_thread::sleep_for(Millis(20));
  }
  return false;
}

std::optional<double> Server::Metric(const std::string& series) {
  auto r = Get(port_, "/metrics", Millis(5000));
  if (r.status != 200) return std::nullopt;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

bool Server::WaitForMetric(const std::string& series, const std::function<bool(double)>& pred,
                           Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto v = Metric(series); v && pred(*v)) return true;
    std::this_thread::sleep_for(Millis(5));  // polling interval, not an ordering
  }
  return false;
}

bool Server::WaitForLoadStart(const std::string& model, Millis timeout) {
  return WaitForLog(
             [&](const nlohmann::json& l) {
               return Str(l, "msg") == "state" && Str(l, "state") == "loading" &&
                      Str(l, "model") == model;
             },
             timeout)
      .has_value();
}

bool IsSwitchTo(const nlohmann::json& line, const std::string& to) {
  return Str(line, "msg") == "switch" && Str(line, "to") == to;
}

std::string Str(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

}  // namespace modeld::blackbox
