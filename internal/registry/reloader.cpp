#include "internal/registry/reloader.h"

#include <tuple>

#include "internal/log/log.h"

namespace modeld::registry {
namespace {

// Every field that changes how the model loads or what clients see.
auto Fields(const ModelEntry& m) {
  return std::tie(m.name, m.path, m.quant, m.family, m.ctx_size, m.threads, m.n_gpu_layers,
                  m.parallel, m.chat_template, m.repack, m.special_in_content);
}

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

RegistryDiff DiffRegistries(const Registry& before, const Registry& after) {
  RegistryDiff d;
  for (const ModelEntry& m : after.models()) {
    const ModelEntry* old = before.Find(m.id);
    if (old == nullptr) {
      d.added.push_back(m.id);
    } else if (Fields(*old) != Fields(m)) {
      d.changed.push_back(m.id);
    }
  }
  for (const ModelEntry& m : before.models()) {
    if (after.Find(m.id) == nullptr) d.removed.push_back(m.id);
  }
  auto top = [&](const char* name, bool same) {
    if (!same) d.restart_needed.push_back(name);
  };
  top("default_model", before.default_model() == after.default_model());
  top("max_queue", before.max_queue() == after.max_queue());
  top("max_body_bytes", before.max_body_bytes() == after.max_body_bytes());
  top("prompt_cache_bytes", before.prompt_cache_bytes() == after.prompt_cache_bytes());
  top("standby_bytes", before.standby_bytes() == after.standby_bytes());
  top("api_keys", before.api_keys() == after.api_keys());
  return d;
}

bool Reloader::Reload(std::string_view trigger) {
  sync::MutexLock lock(mu_);
  Result<LoadedRegistry> loaded = LoadRegistry(source_);
  Status st = loaded.status();
  if (st.ok() && validate_) st = validate_(*loaded->registry);
  if (!st.ok()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    // The message starts "file:line: ..." for a YAML problem.
    log::Error("config reload refused; the previous registry stays in force: " + st.message(),
               {{"trigger", trigger}, {"config", source_.config}, {"outcome", "failed"}});
    return false;
  }
  for (const std::string& w : loaded->warnings) log::Warn("model folder: " + w);
  std::shared_ptr<const Registry> before = store_.Get();
  const RegistryDiff diff = DiffRegistries(*before, *loaded->registry);
  for (const ModelEntry& m : loaded->registry->models()) {
    if (!m.exists) log::Warn("model file missing", {{"model", m.id}, {"path", m.path}});
  }
  store_.Set(loaded->registry);
  if (apply_) apply_(*loaded->registry, diff);
  ok_.fetch_add(1, std::memory_order_relaxed);
  if (!diff.restart_needed.empty()) {
    log::Warn("config reload: these settings take effect at the next restart: " +
                  Join(diff.restart_needed),
              {{"trigger", trigger}});
  }
  log::Info("config reloaded", {{"trigger", trigger},
                                {"outcome", "ok"},
                                {"models", loaded->registry->models().size()},
                                {"added", Join(diff.added)},
                                {"removed", Join(diff.removed)},
                                {"changed", Join(diff.changed)}});
  return true;
}

}  // namespace modeld::registry
