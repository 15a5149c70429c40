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

#include "internal/llm/llama_log.h"
#include "internal/llm/llama_model.h"
#include "internal/log/log.h"

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
  return !control->abort.load(std::memory_order_relaxed);
}

std::string Reason(const LlamaErrorCapture& capture) {
  std::string reason = capture.FirstError();
  return reason.empty() ? "llama.cpp gave no reason" : reason;
}

}  // namespace

BackendPtr LlamaBackend::Create(int default_threads, uint64_t prompt_cache_bytes) {
  static std::once_flag once;
  std::call_once(once, [] {
    InstallLlamaLog();  // first, so initialization messages are routed too
    llama_backend_init();
  });
  if (default_threads <= 0) {
    default_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return BackendPtr(new LlamaBackend(default_threads, prompt_cache_bytes));
}

Result<ModelPtr> LlamaBackend::Load(const LoadSpec& spec, LoadControl& control) {
  std::lock_guard<std::mutex> lock(load_mu_);
  // The manager frees the previous model before it loads the next one. Give
  // the freed heap back to the OS now: without this, RSS crept up ~6 MB over
  // 100 switches (fragmented arenas; bench/results, memory scenario).
  malloc_trim(0);
  control.progress.store(0.0f, std::memory_order_relaxed);
  if (Status st = CheckReadable(spec.path); !st.ok()) return st;
  const ModelIdentity identity = IdentityOf(spec);
  if (spec.ctx_size < 0) return Status::LoadFailed("ctx_size must not be negative");

  LlamaErrorCapture capture;
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = spec.n_gpu_layers;
  mp.load_mode = LLAMA_LOAD_MODE_MMAP;
  mp.progress_callback = &OnProgress;
  mp.progress_callback_user_data = &control;
  const auto model_start = std::chrono::steady_clock::now();
  LlamaModel::ModelHandle model(llama_model_load_from_file(spec.path.c_str(), mp));
  control.model_ms = MsSince(model_start);
  if (control.abort.load(std::memory_order_relaxed)) return Status::Cancelled("load aborted");
  if (model == nullptr) {
    return Status::LoadFailed("failed to load model '" + spec.id + "' from " + spec.path + ": " +
                              Reason(capture));
  }
  if (llama_model_has_encoder(model.get())) {
    return Status::LoadFailed("model '" + spec.id + "' is an encoder model; not supported");
  }

  const int n_ctx_train = llama_model_n_ctx_train(model.get());
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
  cp.n_seq_max = static_cast<uint32_t>(std::clamp(spec.parallel, 1, kMaxParallel));
  cp.kv_unified = true;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.no_perf = true;
  const auto context_start = std::chrono::steady_clock::now();
  LlamaModel::ContextHandle ctx(llama_init_from_model(model.get(), cp));
  control.context_ms = MsSince(context_start);
  if (ctx == nullptr) {
    return Status::LoadFailed("failed to create a context of " + std::to_string(n_ctx) +
                              " tokens for model '" + spec.id + "': " + Reason(capture));
  }
  control.progress.store(1.0f, std::memory_order_relaxed);
  return ModelPtr(new LlamaModel(spec, std::move(model), std::move(ctx), host_cache_, identity));
}

}  // namespace modeld::llm
