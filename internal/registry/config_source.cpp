#include "internal/registry/config_source.h"

#include <utility>

namespace modeld::registry {
namespace {

ParseOptions OptionsFor(const ConfigSource& source) {
  ParseOptions options;
  options.models_optional = !source.model_dirs.empty();
  return options;
}

Status NoModels(const ConfigSource& source) {
  std::string where = source.config.empty() ? "" : source.config;
  for (const std::string& dir : source.model_dirs) where += (where.empty() ? "" : ", ") + dir;
  return Status::InvalidRequest(
      "no models: " + where +
      (source.model_dirs.empty() ? " lists none" : " hold no *.gguf model and no entry"));
}

}  // namespace

Result<LoadedRegistry> LoadRegistry(const ConfigSource& source) {
  LoadedRegistry out;
  Registry base = Registry::Empty();
  if (!source.config.empty()) {
    Result<Registry> parsed = Registry::LoadFile(source.config, OptionsFor(source));
    if (!parsed.ok()) return parsed.status();
    base = std::move(parsed).value();
  }
  if (source.model_dirs.empty()) {
    out.registry = std::make_shared<const Registry>(std::move(base));
    return out;
  }
  DirScan scan = ScanModelDirs(source.model_dirs, source.read_gguf);
  if (!scan.error.ok()) return scan.error;
  std::vector<std::string> shadowed;
  Registry merged = base.WithModels(std::move(scan.models), &shadowed);
  if (merged.models().empty()) return NoModels(source);
  out.warnings = std::move(scan.skipped);
  for (const std::string& id : shadowed) {
    out.warnings.push_back("model \"" + id + "\" of --models-dir is shadowed by the entry in " +
                           source.config);
  }
  out.registry = std::make_shared<const Registry>(std::move(merged));
  return out;
}

std::vector<std::string> CheckRegistry(const ConfigSource& source) {
  std::vector<std::string> problems;
  const ParseOptions options = OptionsFor(source);
  size_t models = 0;
  if (!source.config.empty()) {
    for (const Status& s : Registry::CheckFile(source.config, options)) {
      problems.push_back(s.message());
    }
    if (problems.empty()) {
      Result<Registry> reg = Registry::LoadFile(source.config, options);
      if (reg.ok()) {
        models += reg->models().size();
        for (const ModelEntry& m : reg->models()) {
          const std::string where =
              source.config + ":" + std::to_string(m.line) + ": model \"" + m.id + "\": ";
          if (!m.exists) {
            problems.push_back(where + "file not found: " + m.path);
          } else if (Result<llm::GgufInfo> info = source.read_gguf(m.path); !info.ok()) {
            problems.push_back(where + info.status().message());
          }
        }
      }
    }
  }
  if (!source.model_dirs.empty()) {
    DirScan scan = ScanModelDirs(source.model_dirs, source.read_gguf);
    if (!scan.error.ok()) {
      problems.push_back(scan.error.message());
    } else {
      for (std::string& s : scan.skipped) problems.push_back(std::move(s));
      models += scan.models.size();
    }
  }
  if (problems.empty() && models == 0) problems.push_back(NoModels(source).message());
  return problems;
}

}  // namespace modeld::registry
