#include "internal/registry/registry.h"

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "internal/registry/api_key_file.h"
#include "internal/registry/yaml_reader.h"

namespace modeld::registry {

namespace fs = std::filesystem;

namespace {

constexpr std::array<std::string_view, 8> kTopKeys = {
    "default_model",      "models",        "max_queue", "max_body_bytes", "parallel",
    "prompt_cache_bytes", "standby_bytes", "api_keys"};
constexpr std::array<std::string_view, 13> kEntryKeys = {
    "id",      "name",         "path",          "quant",    "family", "ctx_size",
    "threads", "n_gpu_layers", "chat_template", "parallel", "repack", "special_in_content",
    "pooling"};

bool ValidId(std::string_view id) {
  if (id.empty()) {
    return false;
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

// Builds a Registry from one YAML text. Used once, by Registry::Parse.
class Parser {
 public:
  Parser(const std::string& file_name, fs::path base_dir, const ParseOptions& options,
         bool collect_all = false)
      : reader_(file_name),
        base_dir_(std::move(base_dir)),
        options_(options),
        collect_all_(collect_all) {
    reg_.file_ = file_name;
  }

  Result<Registry> Run(std::string_view yaml) {
    YAML::Node root;
    if (Status s = reader_.LoadOne(std::string(yaml), &root); !s.ok()) {
      return Stop(s);
    }
    if (!root.IsMap()) {
      return Stop(
          reader_.Error(YamlReader::LineOf(root), "",
                        "expected a mapping at the top level, got " + YamlReader::Describe(root)));
    }
    YamlFields top;
    if (Status s = reader_.ReadMap(root, "", kTopKeys, &top); !s.ok()) {
      return Stop(s);
    }
    int64_t parallel = reg_.parallel_;
    if (Status s = reader_.ReadInt(top, "", "parallel", 1, kMaxParallel, &parallel); !Keep(s)) {
      return s;
    }
    reg_.parallel_ = static_cast<int>(parallel);
    if (Status s = ReadModels(top, YamlReader::LineOf(root)); !Keep(s)) {
      return s;
    }
    if (Status s = ReadDefault(top); !Keep(s)) {
      return s;
    }

    int64_t max_queue = reg_.max_queue_;
    if (Status s = reader_.ReadInt(top, "", "max_queue", 1, INT_MAX, &max_queue); !Keep(s)) {
      return s;
    }
    reg_.max_queue_ = static_cast<int>(max_queue);
    if (Status s = reader_.ReadInt(top, "", "max_body_bytes", 1, INT64_MAX, &reg_.max_body_bytes_);
        !Keep(s)) {
      return s;
    }
    if (Status s =
            reader_.ReadInt(top, "", "prompt_cache_bytes", 0, INT64_MAX, &reg_.prompt_cache_bytes_);
        !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadInt(top, "", "standby_bytes", 0, INT64_MAX, &reg_.standby_bytes_);
        !Keep(s)) {
      return s;
    }
    if (Status s = ReadApiKeys(top); !Keep(s)) {
      return s;
    }
    if (!problems_.empty()) return problems_.front();
    return std::move(reg_);
  }

  // Every problem found (Run's error is the first), for --check-config.
  const std::vector<Status>& problems() const { return problems_; }

 private:
  // Records a problem. Whether to go on: when collecting every problem
  // (--check-config), past any problem that leaves the rest checkable;
  // otherwise only when `s` is ok. A status passed up from a nested read
  // is recorded once.
  bool Keep(const Status& s) {
    if (s.ok()) return true;
    if (problems_.empty() || problems_.back().message() != s.message()) problems_.push_back(s);
    return collect_all_;
  }
  // A problem after which nothing more can be checked.
  Status Stop(Status s) {
    Keep(s);
    return s;
  }

  Status ReadModels(const YamlFields& top, int root_line) {
    auto it = top.find("models");
    if (it == top.end()) {
      if (options_.models_optional) return Status::Ok();
      return reader_.Error(root_line, "models", "missing required field");
    }
    const YAML::Node& list = it->second.value;
    if (!list.IsSequence()) {
      return reader_.Error(it->second.line, "models",
                           "expected a list of models, got " + YamlReader::Describe(list));
    }
    if (list.size() == 0 && !options_.models_optional) {
      return reader_.Error(it->second.line, "models", "expected at least one model, got none");
    }
    std::map<std::string, int, std::less<>> id_lines;  // id -> line of its id: value
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = "models[" + std::to_string(i) + "]";
      ModelEntry entry;
      int id_line = 0;
      if (Status s = ReadEntry(list[i], where, &entry, &id_line); !s.ok()) {
        if (!Keep(s)) return s;
        continue;  // collecting: the entry is incomplete, the next one is checked
      }
      auto [prev, inserted] = id_lines.try_emplace(entry.id, id_line);
      if (!inserted) {
        Status dup = reader_.Error(id_line, where + ".id",
                                   "duplicate id \"" + entry.id + "\" (first defined at line " +
                                       std::to_string(prev->second) + ")");
        if (!Keep(dup)) return dup;
        continue;
      }
      reg_.models_.push_back(std::move(entry));
    }
    return Status::Ok();
  }

  Status ReadEntry(const YAML::Node& node, const std::string& where, ModelEntry* e, int* id_line) {
    YamlFields f;
    if (Status s = reader_.ReadMap(node, where, kEntryKeys, &f); !s.ok()) {
      return s;
    }
    const int line = YamlReader::LineOf(node);
    e->line = line;
    for (auto [key, out] :
         {std::pair{"id", &e->id}, std::pair{"name", &e->name}, std::pair{"path", &e->path},
          std::pair{"quant", &e->quant}, std::pair{"family", &e->family}}) {
      if (Status s = reader_.ReadString(f, where, key, /*required=*/true, line, out); !Keep(s)) {
        return s;
      }
    }
    if (f.find("id") == f.end() || e->id.empty()) {
      // Collecting: the id's problem is recorded; without an id the rest
      // of the entry cannot be told apart from others.
      return problems_.empty() ? reader_.Error(line, where + ".id", "missing") : problems_.back();
    }
    *id_line = f.at("id").line;
    if (!ValidId(e->id)) {
      return reader_.Error(*id_line, where + ".id",
                           "invalid id " + YamlReader::Describe(f.at("id").value) +
                               "; use only letters, digits and . _ : -");
    }
    int64_t ctx = e->ctx_size, threads = e->threads, gpu = e->n_gpu_layers;
    int64_t parallel = reg_.parallel_;
    if (Status s = reader_.ReadInt(f, where, "parallel", 1, kMaxParallel, &parallel); !Keep(s)) {
      return s;
    }
    e->parallel = static_cast<int>(parallel);
    if (Status s = reader_.ReadInt(f, where, "ctx_size", 1, INT_MAX, &ctx); !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadInt(f, where, "threads", 1, INT_MAX, &threads); !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadInt(f, where, "n_gpu_layers", 0, INT_MAX, &gpu); !Keep(s)) {
      return s;
    }
    e->ctx_size = static_cast<int>(ctx);
    e->threads = static_cast<int>(threads);
    e->n_gpu_layers = static_cast<int>(gpu);
    if (Status s = reader_.ReadString(f, where, "chat_template", false, line, &e->chat_template);
        !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadBool(f, where, "repack", &e->repack); !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadBool(f, where, "special_in_content", &e->special_in_content);
        !Keep(s)) {
      return s;
    }
    if (Status s = reader_.ReadString(f, where, "pooling", false, line, &e->pooling); !s.ok()) {
      return s;
    }
    if (!e->pooling.empty() && e->pooling != "mean" && e->pooling != "cls" &&
        e->pooling != "last") {
      return reader_.Error(f.find("pooling")->second.line, where + ".pooling",
                           "expected mean, cls or last, got \"" + e->pooling + "\"");
    }
    fs::path path(e->path);
    if (path.is_relative()) {
      path = base_dir_ / path;
    }
    e->path = path.lexically_normal().string();
    std::error_code ec;
    e->exists = fs::is_regular_file(path, ec);  // a missing file is the caller's warning
    return Status::Ok();
  }

  // Messages never quote a key: they end up in logs.
  Status ReadApiKeys(const YamlFields& top) {
    auto it = top.find("api_keys");
    if (it == top.end()) {
      return Status::Ok();
    }
    const YAML::Node& list = it->second.value;
    if (!list.IsSequence() || list.size() == 0) {
      return reader_.Error(it->second.line, "api_keys",
                           list.IsSequence()
                               ? "expected at least one key; remove api_keys to turn "
                                 "authentication off"
                               : "expected a list of keys, got " +
                                     (list.IsScalar() ? "a string" : YamlReader::Describe(list)));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = "api_keys[" + std::to_string(i) + "]";
      const int line = YamlReader::LineOf(list[i], it->second.line);
      if (!list[i].IsScalar()) {
        return reader_.Error(line, where,
                             "expected a string, got " + YamlReader::Describe(list[i]));
      }
      if (std::string problem = ApiKeyProblem(list[i].Scalar()); !problem.empty()) {
        return reader_.Error(line, where, problem);
      }
      reg_.api_keys_.push_back(list[i].Scalar());
    }
    return Status::Ok();
  }

  Status ReadDefault(const YamlFields& top) {
    if (Status s = reader_.ReadString(top, "", "default_model", false, 1, &reg_.default_model_);
        !Keep(s)) {
      return s;
    }
    if (!reg_.default_model_.empty() && reg_.Find(reg_.default_model_) == nullptr) {
      return reader_.Error(top.at("default_model").line, "default_model",
                           YamlReader::Describe(top.at("default_model").value) +
                               " is not a model id (valid ids: " + reg_.ValidIds() + ")");
    }
    return Status::Ok();
  }

  YamlReader reader_;
  fs::path base_dir_;
  const ParseOptions options_;
  const bool collect_all_;
  std::vector<Status> problems_;
  Registry reg_;
};

namespace {

// Runs the parser; `problems` (when given) receives every problem found.
Result<Registry> RunParser(std::string_view yaml, const std::string& file_name,
                           const std::string& base_dir, const ParseOptions& options,
                           std::vector<Status>* problems) {
  try {
    std::error_code ec;
    fs::path base = fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir), ec);
    if (ec) {
      return Status::InvalidRequest(file_name + ": cannot resolve folder \"" + base_dir +
                                    "\": " + ec.message());
    }
    Parser parser(file_name, base.lexically_normal(), options, problems != nullptr);
    Result<Registry> reg = parser.Run(yaml);
    if (problems != nullptr) *problems = parser.problems();
    return reg;
  } catch (const YAML::ParserException& e) {
    return YamlReader(file_name).Error(
        e.mark.line + 1, "",
        "invalid YAML: " + e.msg + " (column " + std::to_string(e.mark.column + 1) + ")");
  } catch (const std::exception& e) {
    return Status::InvalidRequest(file_name + ": " + e.what());
  }
}

Result<std::string> ReadText(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Status::InvalidRequest(path + ": is a directory, expected a YAML file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidRequest(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::InvalidRequest(path + ": cannot read: " + std::strerror(errno));
  }
  return text.str();
}

}  // namespace

Result<Registry> Registry::Parse(std::string_view yaml, const std::string& file_name,
                                 const std::string& base_dir, const ParseOptions& options) {
  return RunParser(yaml, file_name, base_dir, options, nullptr);
}

Result<Registry> Registry::LoadFile(const std::string& path, const ParseOptions& options) {
  Result<std::string> text = ReadText(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path, fs::path(path).parent_path().string(), options);
}

std::vector<Status> Registry::CheckFile(const std::string& path, const ParseOptions& options) {
  Result<std::string> text = ReadText(path);
  if (!text.ok()) return {text.status()};
  std::vector<Status> problems;
  Result<Registry> reg =
      RunParser(*text, path, fs::path(path).parent_path().string(), options, &problems);
  if (!reg.ok() && problems.empty()) problems.push_back(reg.status());  // an exception's
  return problems;
}

Registry Registry::Empty() { return Registry(); }

Registry Registry::WithModels(std::vector<ModelEntry> extra,
                              std::vector<std::string>* shadowed) const {
  Registry out = *this;
  for (ModelEntry& m : extra) {
    if (out.Find(m.id) != nullptr) {
      if (shadowed != nullptr) shadowed->push_back(m.id);
      continue;
    }
    if (m.parallel == 0) m.parallel = parallel_;  // the top-level default, as for YAML entries
    out.models_.push_back(std::move(m));
  }
  return out;
}

const ModelEntry* Registry::Find(std::string_view id) const {
  for (const ModelEntry& m : models_) {
    if (m.id == id) {
      return &m;
    }
  }
  return nullptr;
}

std::string Registry::ValidIds() const {
  std::string ids;
  for (const ModelEntry& m : models_) {
    if (!ids.empty()) {
      ids += ", ";
    }
    ids += m.id;
  }
  return ids;
}

}  // namespace modeld::registry
