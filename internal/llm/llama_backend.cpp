#include "internal/llm/llama_backend.h"

#include <llama.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "internal/llm/llama_embed.h"
#include "internal/llm/llama_log.h"
#include "internal/llm/llama_model.h"
#include "internal/log/log.h"
#include "internal/platform/malloc_tuning.h"
#include "internal/platform/resident_memory.h"

namespace modeld::llm {
namespace {

// Larger prompt batches gain little on CPU and cost compute-buffer memory.
constexpr int kMaxBatch = 2048;
constexpr int kMaxUbatch = 512;
// llama.cpp's LLAMA_MAX_SEQ is 256; the registry allows at most this many.
constexpr int kMaxParallel = 64;

Status CheckReadable(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Status::LoadFailed("model file not found: " + path);
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Status::LoadFailed("model path is not a regular file: " + path);
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::LoadFailed("model file not readable: " + path + ": " + std::strerror(errno));
  }
  std::fclose(f);
  return Status::Ok();
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// The registry id plus what tells one version of the file from another.
ModelIdentity IdentityOf(const LoadSpec& spec) {
  ModelIdentity m;
  m.id = spec.id;
  struct stat st {};
  if (::stat(spec.path.c_str(), &st) == 0) {
    m.device = static_cast<uint64_t>(st.st_dev);
    m.inode = static_cast<uint64_t>(st.st_ino);
    m.size = static_cast<uint64_t>(st.st_size);
    m.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return m;
}

// Reports load progress and lets LoadControl::abort stop the load.
bool OnProgress(float progress, void* data) {
  auto* control = static_cast<LoadControl*>(data);
  control->progress.store(progress, std::memory_order_relaxed);
  if (control->on_progress) control->on_progress(progress);
  return !control->abort.load(std::memory_order_relaxed);
}

std::string Reason(const LlamaErrorCapture& capture) {
  std::string reason = capture.FirstError();
  return reason.empty() ? "llama.cpp gave no reason" : reason;
}

// The weights' identity: the file as it is now, loaded the way `spec` says.
WeightsKey KeyOf(const LoadSpec& spec, const ModelIdentity& file) {
  WeightsKey k;
  k.path = spec.path;
  k.device = file.device;
  k.inode = file.inode;
  k.size = file.size;
  k.mtime_ns = file.mtime_ns;
  k.n_gpu_layers = spec.n_gpu_layers;
  k.repack = spec.repack;
  return k;
}

}  // namespace

BackendPtr LlamaBackend::Create(int default_threads, uint64_t prompt_cache_bytes,
                                uint64_t standby_bytes) {
  static std::once_flag once;
  std::call_once(once, [] {
    InstallLlamaLog();  // first, so initialization messages are routed too
    llama_backend_init();
  });
  if (default_threads <= 0) {
    default_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return BackendPtr(new LlamaBackend(default_threads, prompt_cache_bytes, standby_bytes));
}

Result<LlamaBackend::Weights> LlamaBackend::LoadWeights(const LoadSpec& spec,
                                                        LoadControl& control) {
  LlamaErrorCapture capture;
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = spec.n_gpu_layers;
  mp.use_extra_bufts = spec.repack;
  // Read into private memory, not mapped: a mapped file that is truncated or
  // overwritten in place kills the process with SIGBUS at the next access,
  // and changing a model file must never crash modeld. It costs a copy at
  // load (small: +60 ms; 1b: +25 ms) and halves a repacked model's RSS
  // (no mapped pages beside the repacked copy); see docs/decisions.md.
  mp.load_mode = LLAMA_LOAD_MODE_NONE;
  mp.progress_callback = &OnProgress;
  mp.progress_callback_user_data = &control;
  const int64_t heap_before = platform::HeapInUseBytes();
  const platform::ResidentMemory rss_before = platform::ReadResidentMemory();
  const auto start = std::chrono::steady_clock::now();
  LlamaModel::ModelHandle model(llama_model_load_from_file(spec.path.c_str(), mp),
                                LlamaModel::ModelDeleter{});
  control.model_ms = MsSince(start);
  const int64_t heap_after = platform::HeapInUseBytes();
  const platform::ResidentMemory rss_after = platform::ReadResidentMemory();
  if (control.abort.load(std::memory_order_relaxed)) return Status::Cancelled("load aborted");
  if (model == nullptr) {
    return Status::LoadFailed("failed to load model '" + spec.id + "' from " + spec.path + ": " +
                              Reason(capture));
  }
  if (llama_model_has_encoder(model.get())) {
    return Status::LoadFailed("model '" + spec.id + "' is an encoder model; not supported");
  }
  // What the weights hold in RAM, measured two ways, the larger counting:
  // the heap the load took and kept (weights read into memory, repacked
  // copies, the vocabulary; it sees memory reused from freed heap, which RSS
  // misses) and the RSS growth (it sees huge-page rounding, which the heap
  // misses). At least the tensors' size. Loads run one at a time, so the
  // growth is this load's.
  uint64_t bytes = llama_model_size(model.get());
  if (heap_after > heap_before) {
    bytes = std::max(bytes, static_cast<uint64_t>(heap_after - heap_before));
  }
  if (rss_before.ok() && rss_after.ok() && rss_after.total() > rss_before.total()) {
    bytes = std::max(bytes, static_cast<uint64_t>(rss_after.total() - rss_before.total()));
  }
  return Weights{std::move(model), bytes};
}

Result<LlamaModel::ContextHandle> LlamaBackend::CreateContext(const LoadSpec& spec,
                                                              llama_model* model,
                                                              LoadControl& control) const {
  LlamaErrorCapture capture;
  const int n_ctx_train = llama_model_n_ctx_train(model);
  const int n_ctx = spec.ctx_size > 0 ? spec.ctx_size : n_ctx_train;
  if (n_ctx_train > 0 && n_ctx > n_ctx_train) {
    log::Warn("ctx_size exceeds the model's training context; quality may degrade",
              {{"model", spec.id}, {"ctx_size", n_ctx}, {"n_ctx_train", n_ctx_train}});
  }
  const int threads = spec.threads > 0 ? spec.threads : default_threads_;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(n_ctx);
  cp.n_batch = static_cast<uint32_t>(std::min(n_ctx, kMaxBatch));
  cp.n_ubatch = std::min(cp.n_batch, static_cast<uint32_t>(kMaxUbatch));
  // `parallel` sequences share the ctx_size cells (one unified cache), so a
  // single request may still use the whole context.
  // Beyond them, LlamaModel::kEmbedSequences ids that only embeddings
  // requests use: a batch of short inputs shares one decode, each input in
  // its own sequence, without taking a slot's kept cache.
  cp.n_seq_max = static_cast<uint32_t>(std::clamp(spec.parallel, 1, kMaxParallel) +
                                       LlamaModel::kEmbedSequences);
  // Unified: a request may use every cell. llama_decode then checks each
  // batch against LLAMA_MAX_SEQ (256) sequences; the O(256^2) part of that
  // check is skipped by scripts/llama-patches/0001 (docs/decisions.md).
  cp.kv_unified = true;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.no_perf = true;
  // Generation needs per-token outputs; an embeddings request pools them
  // itself (LlamaEmbedder), whatever the GGUF says. Set only when the GGUF
  // declares a pooling: llama.cpp warns when the two differ.
  if (GgufPoolingType(model) > 0) cp.pooling_type = LLAMA_POOLING_TYPE_NONE;
  const auto start = std::chrono::steady_clock::now();
  LlamaModel::ContextHandle ctx(llama_init_from_model(model, cp));
  control.context_ms = MsSince(start);
  if (ctx == nullptr) {
    return Status::LoadFailed("failed to create a context of " + std::to_string(n_ctx) +
                              " tokens for model '" + spec.id + "': " + Reason(capture));
  }
  return ctx;
}

Result<ModelPtr> LlamaBackend::Load(const LoadSpec& spec, LoadControl& control) {
  sync::MutexLock lock(load_mu_);
  control.progress.store(0.0f, std::memory_order_relaxed);
  control.model_ms = 0;
  control.context_ms = 0;
  control.from_standby = false;
  if (Status st = CheckReadable(spec.path); !st.ok()) return st;
  if (spec.ctx_size < 0) return Status::LoadFailed("ctx_size must not be negative");
  LlamaModel::Homes homes;
  homes.host_cache = host_cache_;
  homes.identity = IdentityOf(spec);
  homes.standby = standby_;
  homes.weights_key = KeyOf(spec, homes.identity);

  LlamaModel::Standby::Kept kept = standby_->Take(homes.weights_key);
  LlamaModel::ModelHandle model = std::move(kept.weights);
  homes.weights_bytes = kept.bytes;
  control.from_standby = model != nullptr;
  if (model == nullptr) {
    Result<Weights> loaded = LoadWeights(spec, control);
    if (!loaded.ok()) return loaded.status();
    model = std::move(loaded->model);
    homes.weights_bytes = loaded->bytes;
  }
  Result<LlamaModel::ContextHandle> ctx = CreateContext(spec, model.get(), control);
  if (!ctx.ok() && control.from_standby) {
    // Memory may be short because of what standby holds: free all of it and
    // these weights, and load from the file as if there were no standby.
    log::Warn("context creation from standby failed; loading from the file",
              {{"model", spec.id}, {"error", ctx.status().message()}});
    model.reset();
    standby_->Clear();
    malloc_trim(0);
    control.from_standby = false;
    const double context_ms = control.context_ms;
    Result<Weights> loaded = LoadWeights(spec, control);
    if (!loaded.ok()) return loaded.status();
    model = std::move(loaded->model);
    homes.weights_bytes = loaded->bytes;
    ctx = CreateContext(spec, model.get(), control);
    control.context_ms += context_ms;
  }
  if (!ctx.ok()) return ctx.status();
  const int threads = static_cast<int>(llama_n_threads(ctx.value().get()));
  LlamaModel::ThreadpoolHandle& pool = threadpools_[threads];
  if (!pool) pool = LlamaModel::NewThreadpool(threads);
  homes.threadpool = pool;
  control.progress.store(1.0f, std::memory_order_relaxed);
  return ModelPtr(new LlamaModel(spec, std::move(model), std::move(ctx).value(), std::move(homes)));
}

void LlamaBackend::ReleaseFreeMemory() {
  // Without a trim RSS crept up ~9 MB over 100 switches (fragmented arenas;
  // bench memory scenario). A trim after every switch instead cost ~1,000
  // page faults on the next one (small -> tiny: 58 ms instead of 49 ms),
  // for 2 MB of RSS; so only a free heap above the bound goes back.
  const platform::ResidentMemory before = platform::ReadResidentMemory();
  const platform::HeapRelease heap = platform::ReleaseFreeHeapAbove(platform::kKeptFreeHeapBytes);
  const platform::ResidentMemory after = platform::ReadResidentMemory();
  // Once per switch; tests and operators see when RSS has settled.
  log::Info("free memory released",
            {{"count", releases_.fetch_add(1) + 1},
             {"rss_bytes", after.ok() ? after.total() : -1},
             {"free_heap_bytes", heap.free_bytes},
             {"trimmed", heap.trimmed},
             {"released_bytes", before.ok() && after.ok() ? before.total() - after.total() : -1}});
}

Status LlamaBackend::Precheck(const LoadSpec& spec, const GenerateParams& params) {
  if (!CheckReadable(spec.path).ok()) return Status::Ok();  // the load will say why
  return vocabs_.Precheck(spec, KeyOf(spec, IdentityOf(spec)), params);
}

std::vector<StandbyModel> LlamaBackend::standby() const {
  std::vector<StandbyModel> out;
  for (const StandbyEntryInfo& e : standby_->List()) out.push_back({e.id, e.bytes});
  return out;
}

}  // namespace modeld::llm
