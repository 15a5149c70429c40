#include "internal/llm/llama_test_util.h"

#include <ggml.h>
#include <gguf.h>
#include <gtest/gtest.h>
#include <llama.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <new>
#include <sstream>

#include "internal/llm/llama_backend.h"

#ifndef MODELD_SOURCE_DIR
#error "MODELD_SOURCE_DIR must name the repository root"
#endif

// A sanitizer runtime brings its own global operator new, which a second
// definition would clash with; allocations are not counted there.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MODELD_SANITIZER_NEW 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MODELD_SANITIZER_NEW 1
#endif

namespace {
thread_local long g_allocations = 0;
}  // namespace

#ifndef MODELD_SANITIZER_NEW
// Counting replacements of the global allocation functions; otherwise the
// same as the defaults. They live in their own translation unit so the
// compiler cannot pair an inlined malloc with an inlined free.
void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace modeld::llm::testutil {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "modeld-llm-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Generates `name` once per process; "" after a recorded failure.
std::string Generated(const std::string& name, const std::string& args) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string out = TempDir() + "/" + name;
  if (fs::exists(out)) return out;
  if (!MakeModel(args, out)) {
    ADD_FAILURE() << "could not generate " << name << " with " << MODELD_MKMODEL << " " << args
                  << " (build the modeld-mkmodel target)";
    return "";
  }
  return out;
}

}  // namespace

const std::string& TempDir() {
  static ScratchDir dir;
  return dir.path();
}

bool MakeModel(const std::string& args, const std::string& out) {
  const std::string cmd =
      std::string("'") + MODELD_MKMODEL + "' " + args + " --out '" + out + "' > /dev/null 2>&1";
  return !TempDir().empty() && std::system(cmd.c_str()) == 0 && fs::exists(out);
}

bool CopyGgufWithoutKey(const std::string& in, const std::string& out, const char* key) {
  ggml_context* data = nullptr;
  gguf_context* src = gguf_init_from_file(in.c_str(), {/*no_alloc=*/false, &data});
  if (src == nullptr) return false;
  gguf_context* dst = gguf_init_empty();
  gguf_set_kv(dst, src);
  gguf_remove_key(dst, key);
  for (int64_t i = 0; i < gguf_get_n_tensors(src); ++i) {
    gguf_add_tensor(dst, ggml_get_tensor(data, gguf_get_tensor_name(src, i)));
  }
  const bool ok = gguf_write_to_file(dst, out.c_str(), /*only_meta=*/false);
  gguf_free(dst);
  gguf_free(src);
  ggml_free(data);
  return ok;
}

std::string TinyModelPath() {
  std::string prebuilt = std::string(MODELD_SOURCE_DIR) + "/models/tiny.gguf";
  if (fs::exists(prebuilt)) return prebuilt;
  return Generated("tiny.gguf", "--preset tiny --seed 1 --name tiny");
}

std::string EmbedModelPath() {
  std::string prebuilt = std::string(MODELD_SOURCE_DIR) + "/models/embed.gguf";
  if (fs::exists(prebuilt)) return prebuilt;
  return Generated("embed.gguf", "--preset tiny --seed 5 --name embed --pooling mean");
}

std::string EogModelPath() {
  return Generated("tiny-eog.gguf", "--preset tiny --seed 1 --name tiny-eog --eog always");
}

ModelPtr LoadOrFail(const std::string& path, int ctx_size, std::string chat_template,
                    std::chrono::microseconds deliver_interval) {
  LoadSpec spec;
  spec.id = "test-model";
  spec.path = path;
  spec.ctx_size = ctx_size;
  spec.chat_template = std::move(chat_template);
  spec.deliver_interval = deliver_interval;
  return LoadSpecOrFail(spec);
}

ModelPtr LoadSpecOrFail(const LoadSpec& spec) {
  // One compute thread: the test machine's cores are shared with builds, and
  // ggml's spinning worker threads crawl when they do not each get a core.
  BackendPtr backend = LlamaBackend::Create(1);
  LoadControl control;
  Result<ModelPtr> model = backend->Load(spec, control);
  if (!model.ok()) {
    ADD_FAILURE() << "load of '" << spec.path << "' failed: " << model.status().message();
    return nullptr;
  }
  return std::move(model).value();
}

long ThreadAllocations() { return g_allocations; }

VocabModel LoadTinyVocab() {
  LlamaBackend::Create(1);  // initializes llama.cpp and its log
  llama_model_params mp = llama_model_default_params();
  mp.vocab_only = true;
  return VocabModel(llama_model_load_from_file(TinyModelPath().c_str(), mp));
}

std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(MODELD_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool CountsAllocations() {
#ifdef MODELD_SANITIZER_NEW
  return false;
#else
  return true;
#endif
}

GenerateParams Greedy(std::string prompt, int n) {
  GenerateParams p;
  p.prompt = std::move(prompt);
  p.max_tokens = n;
  p.sampling.temperature = 0.0f;
  return p;
}

void BareLlama::ModelDeleter::operator()(llama_model* m) const { llama_model_free(m); }
void BareLlama::ContextDeleter::operator()(llama_context* c) const { llama_free(c); }

BareLlama LoadBare(const std::string& path, int n_ctx) {
  BareLlama bare;
  llama_model_params mp = llama_model_default_params();
  mp.load_mode = LLAMA_LOAD_MODE_MMAP;
  bare.model.reset(llama_model_load_from_file(path.c_str(), mp));
  if (bare.model == nullptr) {
    ADD_FAILURE() << "bare load of '" << path << "' failed";
    return bare;
  }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(n_ctx);
  cp.n_batch = static_cast<uint32_t>(n_ctx);
  cp.n_ubatch = 512;
  cp.n_seq_max = 4;  // as LoadOrFail's model (LoadSpec::parallel)
  cp.kv_unified = true;
  cp.n_threads = cp.n_threads_batch = 1;  // as LoadOrFail: all compute on this thread
  cp.no_perf = true;
  bare.ctx.reset(llama_init_from_model(bare.model.get(), cp));
  if (bare.ctx == nullptr) ADD_FAILURE() << "bare context for '" << path << "' failed";
  return bare;
}

Outcome Generate(Model& model, const GenerateParams& params) {
  CollectingSink sink;
  std::atomic<bool> cancel{false};
  Outcome out;
  out.status = model.Generate(params, sink, cancel, out.stats);
  out.text = sink.text;
  out.delivered = sink.delivered;
  out.started = sink.started;
  return out;
}

}  // namespace modeld::llm::testutil
