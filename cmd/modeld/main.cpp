// modeld: wiring only. Flags, config, the llama.cpp backend, the manager and
// the HTTP server; then wait for SIGINT/SIGTERM (SIGHUP reloads the
// registry) and shut down in order.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "internal/httpapi/access_policy.h"
#include "internal/httpapi/api_context.h"
#include "internal/httpapi/client_paths.h"
#include "internal/httpapi/embeddings_api.h"
#include "internal/httpapi/event_hub.h"
#include "internal/httpapi/event_stream.h"
#include "internal/httpapi/http_origin.h"
#include "internal/httpapi/metrics.h"
#include "internal/httpapi/native_api.h"
#include "internal/httpapi/openai_api.h"
#include "internal/httpapi/router.h"
#include "internal/httpapi/server.h"
#include "internal/httpapi/web_page.h"
#include "internal/llm/gguf_info.h"
#include "internal/llm/llama_backend.h"
#include "internal/log/log.h"
#include "internal/manager/log_observer.h"
#include "internal/manager/manager.h"
#include "internal/manager/multi_observer.h"
#include "internal/platform/file_watcher.h"
#include "internal/platform/huge_pages.h"
#include "internal/platform/malloc_tuning.h"
#include "internal/platform/signals.h"
#include "internal/registry/api_key_file.h"
#include "internal/registry/config_source.h"
#include "internal/registry/load_specs.h"
#include "internal/registry/registry.h"
#include "internal/registry/registry_store.h"
#include "internal/registry/reloader.h"

namespace {

struct Flags {
  std::string config = "configs/models.yaml";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string log_level = "info";
  int threads = 0;
  std::string api_key_file;
  std::vector<std::string> cors_origins;
  std::vector<std::string> allowed_hosts;
  bool public_metrics = false;
  bool expose_paths = false;
  std::vector<std::string> models_dirs;
  bool check_config = false;
  bool watch_config = false;
  std::string pin;
  std::string metrics_compat = "none";
  modeld::httpapi::Limits limits;
};

// --check-config: every problem on stdout, one a line; 0 when there is none.
int CheckConfig(const modeld::registry::ConfigSource& source, const Flags& flags) {
  std::vector<std::string> problems = modeld::registry::CheckRegistry(source);
  size_t models = 0;
  if (problems.empty()) {
    auto loaded = modeld::registry::LoadRegistry(source);
    if (!loaded.ok()) {
      problems.push_back(loaded.status().message());
    } else {
      models = loaded->registry->models().size();
      if (!flags.pin.empty() && loaded->registry->Find(flags.pin) == nullptr) {
        problems.push_back("--pin " + flags.pin +
                           ": not a model id (valid ids: " + loaded->registry->ValidIds() + ")");
      }
    }
  }
  if (!flags.api_key_file.empty()) {
    auto keys = modeld::registry::LoadApiKeyFile(flags.api_key_file);
    if (!keys.ok()) problems.push_back(keys.status().message());
  }
  for (const std::string& p : problems) std::printf("%s\n", p.c_str());
  if (!problems.empty()) {
    std::printf("config invalid: %zu problem%s\n", problems.size(),
                problems.size() == 1 ? "" : "s");
    return 2;
  }
  std::printf("config ok: %zu model%s\n", models, models == 1 ? "" : "s");
  return 0;
}

// What --watch-config watches: the config's folder (its file name, and
// "..data", which a Kubernetes ConfigMap volume swaps on update) and every
// --models-dir (*.gguf names).
std::vector<modeld::platform::WatchedDir> WatchedDirs(
    const modeld::registry::ConfigSource& source) {
  namespace fs = std::filesystem;
  std::vector<modeld::platform::WatchedDir> dirs;
  if (!source.config.empty()) {
    fs::path p = fs::absolute(source.config).lexically_normal();
    dirs.push_back({p.parent_path().string(), [name = p.filename().string()](std::string_view n) {
                      return n == name || n == "..data";
                    }});
  }
  for (const std::string& d : source.model_dirs) {
    dirs.push_back({d, [](std::string_view n) { return n.ends_with(".gguf"); }});
  }
  return dirs;
}

}  // namespace

int main(int argc, char** argv) {
  namespace log = modeld::log;
  // First, before any thread or allocation that matters: malloc's tunables
  // are read only at process start.
  std::string huge_pages;
  modeld::platform::ReexecWithHugePages(argv, &huge_pages);
  const std::string malloc_reuse = modeld::platform::KeepFreedHeap();
  // Signals are taken by sigwait on this thread; every thread started later
  // inherits the mask, so none of them is interrupted.
  modeld::platform::BlockServiceSignals();

  Flags flags;
  CLI::App app{"modeld: one llama.cpp model in-process, switched per request"};
  app.set_version_flag("--version", "modeld " MODELD_VERSION);
  CLI::Option* config_opt =
      app.add_option("--config", flags.config,
                     "model registry (YAML); with --models-dir, read only when given")
          ->envname("MODELD_CONFIG");
  app.add_option("--models-dir", flags.models_dirs,
                 "folder whose *.gguf files become models, id = file stem (repeatable; "
                 "the YAML registry wins an id conflict)")
      ->envname("MODELD_MODEL_DIRS")
      ->delimiter(',');
  app.add_flag("--check-config", flags.check_config,
               "validate the registry and folders, print every problem, exit 0 (ok) or 2");
  app.add_flag("--watch-config", flags.watch_config,
               "reload the registry when its file or a --models-dir changes (as SIGHUP does)")
      ->envname("MODELD_WATCH_CONFIG");
  app.add_option("--pin", flags.pin,
                 "serve exactly this model; requests for another get 421 model_pinned")
      ->envname("MODELD_PIN");
  app.add_option("--metrics-compat", flags.metrics_compat,
                 "also expose these engines' metric names on /metrics: none or vllm")
      ->envname("MODELD_METRICS_COMPAT")
      ->check(CLI::IsMember({"none", "vllm"}))
      ->capture_default_str();
  app.add_option("--host", flags.host, "address to listen on")->envname("MODELD_HOST");
  app.add_option("--port", flags.port, "port to listen on (0: any free port)")
      ->envname("MODELD_PORT")
      ->check(CLI::Range(0, 65535));
  app.add_option("--log-level", flags.log_level, "debug, info, warn or error")
      ->envname("MODELD_LOG_LEVEL");
  app.add_option("--threads", flags.threads, "llama.cpp threads (0: one per core)")
      ->envname("MODELD_THREADS")
      ->check(CLI::Range(0, 1024));
  app.add_option("--api-key-file", flags.api_key_file,
                 "file of API keys, one per line ('#' comments); clients send "
                 "'Authorization: Bearer <key>'")
      ->envname("MODELD_API_KEY_FILE");
  app.add_option("--cors-origins", flags.cors_origins,
                 "web origins (scheme://host[:port], comma-separated, or *) allowed to call "
                 "the API from a browser; default: same-origin only")
      ->envname("MODELD_CORS_ORIGINS")
      ->delimiter(',');
  app.add_option("--allowed-hosts", flags.allowed_hosts,
                 "Host names served besides IP addresses and localhost (comma-separated; "
                 ".example.com for subdomains; * for any)")
      ->envname("MODELD_ALLOWED_HOSTS")
      ->delimiter(',');
  app.add_flag("--public-metrics", flags.public_metrics, "serve GET /metrics without an API key")
      ->envname("MODELD_PUBLIC_METRICS");
  app.add_flag("--expose-paths", flags.expose_paths,
               "show model file paths to clients (/models, error messages)")
      ->envname("MODELD_EXPOSE_PATHS");
  auto& lim = flags.limits;
  app.add_option("--max-connections", lim.max_connections,
                 "open HTTP connections at most; beyond, the longest-idle one is closed, "
                 "or else the new one")
      ->envname("MODELD_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-pending-body-bytes", lim.max_pending_body_bytes,
                 "bytes all incomplete request bodies may hold together; a body that would "
                 "exceed it gets 503")
      ->envname("MODELD_MAX_PENDING_BODY_BYTES")
      ->check(CLI::Range(size_t{1}, size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--header-timeout", lim.header_timeout_s,
                 "seconds for a request header (and a new connection's first byte)")
      ->envname("MODELD_HEADER_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--body-timeout", lim.body_timeout_s,
                 "seconds for a whole request body, after its header (then 408)")
      ->envname("MODELD_BODY_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--idle-timeout", lim.idle_timeout_s,
                 "seconds a keep-alive connection may wait for its next request")
      ->envname("MODELD_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--write-timeout", lim.write_timeout_s,
                 "seconds for one write to a client that stopped reading (then it is dropped)")
      ->envname("MODELD_WRITE_TIMEOUT")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--socket-send-buffer", lim.send_buffer_bytes,
                 "SO_SNDBUF bytes of client sockets, bounding the kernel memory a slow "
                 "client holds (0: the kernel's autotuning)")
      ->envname("MODELD_SOCKET_SEND_BUFFER")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (auto st = log::SetLevel(flags.log_level); !st.ok()) {
    log::Error("invalid --log-level", {{"error", st.message()}});
    return 2;
  }
  modeld::registry::ConfigSource source;
  // With --models-dir the YAML file is optional: read only when named.
  source.config = flags.models_dirs.empty() || config_opt->count() > 0 ? flags.config : "";
  source.model_dirs = flags.models_dirs;
  source.read_gguf = modeld::llm::ReadGgufInfo;
  if (flags.check_config) return CheckConfig(source, flags);

  auto loaded = modeld::registry::LoadRegistry(source);
  if (!loaded.ok()) {
    log::Error("invalid config: " + loaded.status().message(), {{"config", source.config}});
    return 2;
  }
  for (const std::string& w : loaded->warnings) log::Warn("model folder: " + w);
  modeld::registry::RegistryStore store(loaded->registry);
  // Startup settings come from the first registry; a reload changes models only.
  const modeld::registry::Registry* reg = loaded->registry.get();
  for (const auto& m : reg->models()) {
    if (!m.exists) log::Warn("model file missing", {{"model", m.id}, {"path", m.path}});
  }
  if (!flags.pin.empty() && reg->Find(flags.pin) == nullptr) {
    log::Error("invalid --pin: '" + flags.pin +
               "' is not a model id (valid ids: " + reg->ValidIds() + ")");
    return 2;
  }
  std::vector<std::string> keys = reg->api_keys();
  if (!flags.api_key_file.empty()) {
    auto file_keys = modeld::registry::LoadApiKeyFile(flags.api_key_file);
    if (!file_keys.ok()) {
      log::Error("invalid --api-key-file: " + file_keys.status().message());
      return 2;
    }
    keys.insert(keys.end(), file_keys->begin(), file_keys->end());
  }
  auto policy = modeld::httpapi::AccessPolicy::Create(
      {std::move(keys), flags.cors_origins, flags.allowed_hosts, flags.public_metrics});
  if (!policy.ok()) {
    log::Error("invalid flag: " + policy.status().message());
    return 2;
  }

  auto backend = modeld::llm::LlamaBackend::Create(flags.threads,
                                                   static_cast<uint64_t>(reg->prompt_cache_bytes()),
                                                   static_cast<uint64_t>(reg->standby_bytes()));
  std::vector<std::string> model_paths;
  for (const auto& m : reg->models()) model_paths.push_back(m.path);
  const modeld::httpapi::ClientPaths client_paths(std::move(model_paths), flags.expose_paths);
  modeld::manager::LogObserver log_observer;
  modeld::httpapi::Metrics metrics;
  modeld::httpapi::EventHub events({}, client_paths);  // GET /events
  modeld::manager::MultiObserver observer({&log_observer, &metrics, &events});
  modeld::manager::Manager manager(*backend, modeld::registry::LoadSpecs(*reg),
                                   {static_cast<size_t>(reg->max_queue()), flags.pin}, &observer);
  metrics.SetVllmCompat(flags.metrics_compat == "vllm");

  modeld::registry::Reloader reloader(
      source, store,
      [&flags](const modeld::registry::Registry& next) {
        if (flags.pin.empty() || next.Find(flags.pin) != nullptr) return modeld::Status::Ok();
        return modeld::Status::InvalidRequest("the pinned model '" + flags.pin +
                                              "' (--pin) is not in the new registry");
      },
      [&manager](const modeld::registry::Registry& next,
                 const modeld::registry::RegistryDiff& diff) {
        std::vector<std::string> stale = diff.removed;
        stale.insert(stale.end(), diff.changed.begin(), diff.changed.end());
        manager.SetCatalog(modeld::registry::LoadSpecs(next), stale);
      });

  metrics.SetLiveSource([&manager, &backend, &reloader] {
    const modeld::manager::Snapshot snap = manager.GetSnapshot();
    modeld::httpapi::Metrics::Live live;
    live.kv_usage =
        snap.kv_cells > 0 ? static_cast<double>(snap.kv_cells_used) / snap.kv_cells : 0.0;
    live.preemptions = snap.preemptions;
    live.prompt_cache_bytes = backend->prompt_cache_bytes();
    live.standby_bytes = snap.standby_bytes;
    live.standby_models = snap.standby.size();
    live.generated_tokens = snap.generated_tokens;
    live.config_reloads_ok = reloader.succeeded();
    live.config_reloads_failed = reloader.failed();
    if (snap.state == modeld::manager::ModelState::kReady) live.loaded_model = snap.loaded;
    if (snap.target != snap.loaded && snap.queued > 0) live.waiting_model = snap.target;
    return live;
  });

  modeld::httpapi::Router router;
  modeld::httpapi::Limits limits = flags.limits;
  limits.max_body_bytes = static_cast<size_t>(reg->max_body_bytes());
  modeld::httpapi::Server server(router, limits);
  modeld::httpapi::ApiContext ctx{manager, store, server.io().get_executor(), client_paths,
                                  flags.pin};
  modeld::httpapi::RegisterNativeRoutes(router, ctx);
  modeld::httpapi::RegisterOpenAiRoutes(router, ctx);
  modeld::httpapi::RegisterEmbeddingsRoutes(router, ctx);
  modeld::httpapi::RegisterMetricsRoute(router, metrics);
  modeld::httpapi::RegisterEventsRoute(router, ctx, events);
  modeld::httpapi::RegisterWebRoutes(router);
  router.SetObserver(&metrics);
  router.SetGate(&*policy);

  auto port = server.Listen(flags.host, flags.port);
  if (!port.ok()) {
    log::Error("cannot start", {{"error", port.status().message()}});
    return 1;
  }
  if (!policy->auth_enabled() && !modeld::httpapi::IsLoopbackAddress(flags.host)) {
    // Loud on purpose: this exposes the model to the network.
    log::Warn("no API keys on a non-loopback address: anyone who can reach " + flags.host + ":" +
                  std::to_string(*port) +
                  " can use this server; set --api-key-file or api_keys in the registry",
              {{"host", flags.host}, {"port", *port}});
  }
  std::unique_ptr<modeld::platform::FileWatcher> watcher;
  if (flags.watch_config) {
    auto started =
        modeld::platform::FileWatcher::Start(WatchedDirs(source), std::chrono::milliseconds(200),
                                             [&reloader] { reloader.Reload("watch"); });
    if (!started.ok()) {
      log::Error("--watch-config: " + started.status().message());
      return 2;
    }
    watcher = std::move(started).value();
  }
  // After the warning: tests and scripts read the log up to "listening".
  log::Info("listening", {{"host", flags.host},
                          {"port", *port},
                          {"config", source.config},
                          {"models_dirs", flags.models_dirs},
                          {"models", reg->models().size()},
                          {"pin", flags.pin},
                          {"watch_config", flags.watch_config},
                          {"version", MODELD_VERSION},
                          {"default_model", std::string(reg->default_model())},
                          {"malloc_huge_pages", huge_pages},
                          {"malloc_reuse", malloc_reuse},
                          {"thp", modeld::platform::TransparentHugePageMode()},
                          {"api_keys", policy->key_count()},
                          {"max_connections", limits.max_connections},
                          {"max_pending_body_bytes", limits.max_pending_body_bytes},
                          {"header_timeout_s", limits.header_timeout_s},
                          {"body_timeout_s", limits.body_timeout_s},
                          {"idle_timeout_s", limits.idle_timeout_s},
                          {"write_timeout_s", limits.write_timeout_s}});
  manager.Start(flags.pin.empty() ? std::string(reg->default_model()) : flags.pin);
  server.Run();

  // SIGHUP reloads the registry; SIGUSR1/SIGUSR2 must not end the process,
  // as their default action would.
  const int sig = modeld::platform::WaitForStopSignal([&reloader](int other) {
    if (other == SIGHUP) {
      log::Info("SIGHUP: reloading the config", {{"signal", "SIGHUP"}});
      reloader.Reload("SIGHUP");
      return;
    }
    log::Info("signal ignored", {{"signal", modeld::platform::SignalName(other)}});
  });
  log::Info("shutting down", {{"signal", modeld::platform::SignalName(sig)}});
  watcher.reset();  // no reload during shutdown
  server.StopAccepting();
  manager.Shutdown();  // ends streams with shutting_down and frees the model
  events.Shutdown();   // ends /events streams (after the manager's last events)
  server.Stop(std::chrono::milliseconds(3000));
  log::Info("stopped");
  return 0;
}
