// modeld-floor-probe: the in-process floor for a model switch, and a token
// counter for calibrating prompts.
//
// Switch mode (default): loads the first model untimed, then for each cycle
// switches through the models in order and, per switch, times
//   free the old context and model + load the new model (read into memory,
//   not mapped) + create a context + tokenize and decode the prompt + sample
//   one token greedily,
// with the same parameters as modeld's llama.cpp adapter (weights read, not
// mapped; n_ctx 4096, n_batch min(ctx, 2048), n_ubatch 512, --parallel
// sequences (default 4) in a unified KV cache, N threads); --mmap maps the
// file instead, as llama-server does by default. Like
// llama-bench and llama-server, it decodes on a persistent ggml threadpool
// (made once, before the timed switches, and attached to each new context);
// --no-threadpool leaves ggml to make a throw-away pool per decode, as a
// context without an attached pool does. That is the least any in-process
// server can spend from "request for B arrives while A is loaded" to "B's
// first token exists". One JSON object per switch on stdout, with the
// process's minor and major page faults during the switch (getrusage).
// --drop-cache evicts B's file from the page cache (posix_fadvise DONTNEED)
// before each timed switch, untimed, and reports how much of it stayed
// cached ("cache_left_pct"; pages mapped by any process stay).
//
//   modeld-floor-probe --model tiny=/m/tiny.gguf --model small=/m/small.gguf
//                      [--cycles 1] [--threads 2] [--ctx 4096] [--prompt TEXT]
//                      [--no-threadpool] [--drop-cache] [--mmap] [--parallel 4]
//
// Count mode: prints {"tokens":N} for the prompt as modeld tokenizes it (BOS
// added as the model asks, no special-token parsing); loads the vocabulary only.
//
//   modeld-floor-probe --count-tokens --model tiny=/m/tiny.gguf --prompt TEXT
//
// Exit status: 0 on success, 1 on a llama.cpp failure, 2 on bad arguments.
#include <fcntl.h>
#include <ggml-cpu.h>
#include <llama.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct ModelFile {
  std::string id;
  std::string path;
};

struct Options {
  std::vector<ModelFile> models;
  int cycles = 1;
  int threads = 2;
  int ctx = 4096;
  std::string prompt = "Hello";
  bool count_tokens = false;
  bool threadpool = true;
  bool drop_cache = false;
  bool mmap = false;
  int parallel = 4;
};

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelHandle = std::unique_ptr<llama_model, ModelDeleter>;
using ContextHandle = std::unique_ptr<llama_context, ContextDeleter>;
struct PoolDeleter {
  void operator()(ggml_threadpool* p) const { ggml_threadpool_free(p); }
};
using PoolHandle = std::unique_ptr<ggml_threadpool, PoolDeleter>;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void Quiet(ggml_log_level, const char*, void*) {}

int Usage(const char* why) {
  std::fprintf(stderr,
               "modeld-floor-probe: %s\n"
               "usage: modeld-floor-probe [--count-tokens] --model ID=PATH [--model ID=PATH ...]\n"
               "       [--cycles N] [--threads N] [--ctx N] [--prompt TEXT] [--no-threadpool]\n"
               "       [--drop-cache]\n",
               why);
  return 2;
}

bool ParseInt(const char* s, int& out) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0 || v > 1'000'000) return false;
  out = static_cast<int>(v);
  return true;
}

// Returns 0 when the arguments are usable, else the exit status.
int ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--count-tokens") {
      o.count_tokens = true;
      continue;
    }
    if (a == "--no-threadpool") {
      o.threadpool = false;
      continue;
    }
    if (a == "--drop-cache") {
      o.drop_cache = true;
      continue;
    }
    if (a == "--mmap") {
      o.mmap = true;
      continue;
    }
    if (i + 1 >= argc) return Usage("missing value after an option");
    const char* v = argv[++i];
    if (a == "--model") {
      const char* eq = std::strchr(v, '=');
      if (eq == nullptr || eq == v || eq[1] == '\0') return Usage("--model takes ID=PATH");
      o.models.push_back({std::string(v, eq), std::string(eq + 1)});
    } else if (a == "--prompt") {
      o.prompt = v;
    } else {
      int* target = a == "--cycles"     ? &o.cycles
                    : a == "--threads"  ? &o.threads
                    : a == "--ctx"      ? &o.ctx
                    : a == "--parallel" ? &o.parallel
                                        : nullptr;
      if (target == nullptr || !ParseInt(v, *target)) {
        return Usage(("bad option or value: " + std::string(a)).c_str());
      }
    }
  }
  if (o.models.empty()) return Usage("at least one --model is required");
  if (!o.count_tokens && o.models.size() < 2) return Usage("switching needs two --model");
  return 0;
}

// As modeld tokenizes a plain prompt: add BOS as the model asks, no special parsing.
bool Tokenize(const llama_vocab* vocab, const std::string& text, std::vector<llama_token>& out) {
  out.resize(text.size() + 8);
  int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out.data(),
                         static_cast<int32_t>(out.size()), /*add_special=*/true,
                         /*parse_special=*/false);
  if (n < 0) {
    out.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), out.data(),
                       static_cast<int32_t>(out.size()), true, false);
  }
  if (n < 0) return false;
  out.resize(static_cast<size_t>(n));
  return true;
}

int CountTokens(const Options& o) {
  llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  ModelHandle model(llama_model_load_from_file(o.models[0].path.c_str(), mp));
  if (model == nullptr) {
    std::fprintf(stderr, "modeld-floor-probe: cannot load %s\n", o.models[0].path.c_str());
    return 1;
  }
  std::vector<llama_token> tokens;
  if (!Tokenize(llama_model_get_vocab(model.get()), o.prompt, tokens)) return 1;
  std::printf("{\"tokens\":%zu}\n", tokens.size());
  return 0;
}

struct Faults {
  long minor = 0;
  long major = 0;
};

// The page faults of the whole process (every thread) so far.
Faults FaultsNow() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return {u.ru_minflt, u.ru_majflt};
}

// The share of the open file's pages in the page cache, in percent; -1 when
// it cannot tell. Mapping the file does not read it, so this changes nothing.
double CachedPercent(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) return -1;
  const size_t size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return -1;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  double out = -1;
  if (mincore(p, size, resident.data()) == 0) {
    const auto in_cache = std::count_if(resident.begin(), resident.end(),
                                        [](unsigned char v) { return (v & 1) != 0; });
    out = 100.0 * static_cast<double>(in_cache) / static_cast<double>(resident.size());
  }
  munmap(p, size);
  return out;
}

// Drops the file's pages from the page cache (no root needed; pages a
// process still maps stay) and returns the share left cached, in percent.
// Dirty pages (a freshly written file) are written back first, or they stay.
double DropFromPageCache(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  const double left = CachedPercent(fd);
  close(fd);
  return left;
}

struct Loaded {
  ModelHandle model;
  ContextHandle ctx;
};

// The same model and context parameters as internal/llm/llama_backend.cpp.
bool Load(const Options& o, const ModelFile& f, ggml_threadpool* pool, Loaded& out, double& load_ms,
          double& ctx_ms) {
  const Clock::time_point t0 = Clock::now();
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.load_mode = o.mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
  out.model.reset(llama_model_load_from_file(f.path.c_str(), mp));
  const Clock::time_point t1 = Clock::now();
  if (out.model == nullptr) return false;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(o.ctx);
  cp.n_batch = static_cast<uint32_t>(std::min(o.ctx, 2048));
  cp.n_ubatch = std::min(cp.n_batch, 512u);
  cp.n_seq_max = static_cast<uint32_t>(std::min(o.parallel, 64));
  cp.kv_unified = true;
  cp.n_threads = o.threads;
  cp.n_threads_batch = o.threads;
  cp.no_perf = true;
  out.ctx.reset(llama_init_from_model(out.model.get(), cp));
  if (out.ctx != nullptr && pool != nullptr) llama_attach_threadpool(out.ctx.get(), pool, nullptr);
  const Clock::time_point t2 = Clock::now();
  load_ms = Ms(t0, t1);
  ctx_ms = Ms(t1, t2);
  return out.ctx != nullptr;
}

// Decodes the prompt and returns the greedy first token (argmax, as modeld).
bool FirstToken(const Loaded& m, const std::string& prompt, llama_token& token) {
  const llama_vocab* vocab = llama_model_get_vocab(m.model.get());
  std::vector<llama_token> tokens;
  if (!Tokenize(vocab, prompt, tokens) || tokens.empty()) return false;
  if (llama_decode(m.ctx.get(),
                   llama_batch_get_one(tokens.data(), static_cast<int32_t>(tokens.size()))) != 0) {
    return false;
  }
  const float* logits = llama_get_logits_ith(m.ctx.get(), -1);
  if (logits == nullptr) return false;
  const int n_vocab = llama_vocab_n_tokens(vocab);
  token = static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits);
  return true;
}

int Switches(const Options& o) {
  PoolHandle pool;  // outlives every context that uses it
  if (o.threadpool) {
    ggml_threadpool_params tpp = ggml_threadpool_params_default(o.threads);
    pool.reset(ggml_threadpool_new(&tpp));
    if (pool == nullptr) {
      std::fprintf(stderr, "modeld-floor-probe: cannot create a threadpool\n");
      return 1;
    }
  }
  Loaded current;
  double load_ms = 0, ctx_ms = 0;
  if (!Load(o, o.models[0], pool.get(), current, load_ms, ctx_ms)) {
    std::fprintf(stderr, "modeld-floor-probe: cannot load %s\n", o.models[0].path.c_str());
    return 1;
  }
  size_t at = 0;
  const size_t n = o.models.size();
  for (int cycle = 0; cycle < o.cycles; ++cycle) {
    for (size_t step = 0; step < n; ++step) {
      const size_t next = (at + 1) % n;
      const double cache_left = o.drop_cache ? DropFromPageCache(o.models[next].path) : -1;
      const Faults f0 = FaultsNow();
      const Clock::time_point t0 = Clock::now();
      current.ctx.reset();
      current.model.reset();
      const Clock::time_point t1 = Clock::now();
      if (!Load(o, o.models[next], pool.get(), current, load_ms, ctx_ms)) {
        std::fprintf(stderr, "modeld-floor-probe: cannot load %s\n", o.models[next].path.c_str());
        return 1;
      }
      const Clock::time_point t2 = Clock::now();
      llama_token token = 0;
      if (!FirstToken(current, o.prompt, token)) {
        std::fprintf(stderr, "modeld-floor-probe: decode failed on %s\n",
                     o.models[next].id.c_str());
        return 1;
      }
      const Clock::time_point t3 = Clock::now();
      const Faults f1 = FaultsNow();
      std::printf(
          "{\"from\":\"%s\",\"to\":\"%s\",\"total_ms\":%.3f,\"free_ms\":%.3f,\"load_ms\":%.3f,"
          "\"ctx_ms\":%.3f,\"first_token_ms\":%.3f,\"token\":%d,\"threadpool\":%s,"
          "\"minflt\":%ld,\"majflt\":%ld",
          o.models[at].id.c_str(), o.models[next].id.c_str(), Ms(t0, t3), Ms(t0, t1), load_ms,
          ctx_ms, Ms(t2, t3), token, o.threadpool ? "true" : "false", f1.minor - f0.minor,
          f1.major - f0.major);
      if (o.drop_cache) {
        if (cache_left >= 0) {
          std::printf(",\"cache_left_pct\":%.3f", cache_left);
        } else {
          std::printf(",\"cache_left_pct\":null");  // mincore could not tell
        }
      }
      std::printf("}\n");
      std::fflush(stdout);
      at = next;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (int rc = ParseArgs(argc, argv, o); rc != 0) return rc;
  llama_log_set(&Quiet, nullptr);
  llama_backend_init();
  const int rc = o.count_tokens ? CountTokens(o) : Switches(o);
  llama_backend_free();
  return rc;
}
