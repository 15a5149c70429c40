#pragma once

// Test helpers for the llama.cpp binding: generated models and sinks.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/adapter.h"

struct llama_model;
struct llama_context;

namespace modeld::llm::testutil {

// A directory private to this test process, removed when it exits.
const std::string& TempDir();

// The tiny test model: models/tiny.gguf when scripts/models.sh made it, else
// generated once per process with bin/modeld-mkmodel. Records a test failure
// and returns "" when neither is possible.
std::string TinyModelPath();

// A tiny model whose greedy choice is always the end-of-generation token
// (modeld-mkmodel --eog always), generated once per process.
std::string EogModelPath();

// A tiny model that declares mean pooling (modeld-mkmodel --pooling mean):
// models/embed.gguf when scripts/models.sh made it, else generated once.
std::string EmbedModelPath();

// Copies the GGUF file `in` to `out` without the metadata `key`; true on
// success.
bool CopyGgufWithoutKey(const std::string& in, const std::string& out, const char* key);

// Runs bin/modeld-mkmodel with `args` plus --out `out`; true on success.
bool MakeModel(const std::string& args, const std::string& out);

// Loads `path` with `ctx_size`, recording a failure when it does not load.
// Text is handed over every token by default (deliver_interval 0), so what a
// sink receives does not depend on the machine's speed.
ModelPtr LoadOrFail(const std::string& path, int ctx_size = 512, std::string chat_template = "",
                    std::chrono::microseconds deliver_interval = std::chrono::microseconds(0));

// Loads `spec` (threads 1 unless set), recording a failure when it does not load.
ModelPtr LoadSpecOrFail(const LoadSpec& spec);

// Keeps every batch; Wants() stays true unless a test changes it.
// Thread-safety: the virtual calls come from the generating thread; the
// counters may be read from any thread.
class CollectingSink : public TextSink {
 public:
  void Started() override { started.fetch_add(1); }
  void Deliver(std::string_view batch) override {
    text.append(batch);
    batches.emplace_back(batch);
    delivered.fetch_add(1);
  }
  void SetWants(bool wants) { wants_.store(wants, std::memory_order_release); }

  std::atomic<int> started{0};
  std::atomic<int> delivered{0};
  std::string text;
  std::vector<std::string> batches;
};

// Appends into reserved memory: delivering allocates nothing.
class NonAllocatingSink : public TextSink {
 public:
  NonAllocatingSink() { text.reserve(1 << 20); }
  void Started() override {}
  void Deliver(std::string_view batch) override { text.append(batch); }
  std::string text;
};

// A model and context made with bare llama.cpp calls, set up like
// LoadOrFail's (1 thread, 4 sequences, unified cache), for comparisons
// against llama.cpp itself. Null members (and a recorded failure) on error.
struct BareLlama {
  struct ModelDeleter {
    void operator()(llama_model* m) const;
  };
  struct ContextDeleter {
    void operator()(llama_context* c) const;
  };
  std::unique_ptr<llama_model, ModelDeleter> model;
  std::unique_ptr<llama_context, ContextDeleter> ctx;
};
BareLlama LoadBare(const std::string& path, int n_ctx);

// The tiny model's vocabulary and template only (vocab_only: no weights), for
// tokenizer and template tests; initializes llama.cpp first. Null on error.
using VocabModel = std::unique_ptr<llama_model, BareLlama::ModelDeleter>;
VocabModel LoadTinyVocab();

// Heap allocations (operator new calls) made so far by the calling thread.
// The test binary's global operator new counts them.
long ThreadAllocations();
// False in a sanitizer build, whose runtime owns operator new: nothing is
// counted there, so the allocation tests skip.
bool CountsAllocations();

// The text of `relative` in the source tree ("" when it cannot be read).
std::string ReadSourceFile(const std::string& relative);

// The prompt most tests use.
inline const std::string kPrompt = "the quick brown fox";

// Greedy parameters for `n` tokens.
GenerateParams Greedy(std::string prompt, int n);

// What one Generate call returned and delivered to a CollectingSink.
struct Outcome {
  Status status;
  GenerateStats stats;
  std::string text;
  int delivered = 0;
  int started = 0;
};
Outcome Generate(Model& model, const GenerateParams& params);

}  // namespace modeld::llm::testutil
