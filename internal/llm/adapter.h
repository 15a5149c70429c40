#pragma once

// The seam between modeld and an inference engine. The manager holds these
// interfaces; llama_backend.{h,cpp} implements them on llama.cpp, and the
// manager's unit tests implement them with a fake.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::llm {

// What to load. Paths are absolute by the time they get here.
struct LoadSpec {
  std::string id;
  std::string path;
  int ctx_size = 4096;
  int threads = 0;  // 0: the process default
  int n_gpu_layers = 0;
  std::string chat_template;  // overrides the GGUF template when non-empty
};

// Shared between the loader and whoever may want to abort it. Thread-safe.
struct LoadControl {
  std::atomic<bool> abort{false};     // set to stop a load at its next progress report
  std::atomic<float> progress{0.0f};  // 0..1, written by the loader
};

struct ChatMessage {
  std::string role;  // system, user or assistant
  std::string content;
};

enum class FinishReason { kStop, kLength };

struct SamplingParams {
  float temperature = 0.8f;  // 0: greedy
  int top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  uint32_t seed = 0xFFFFFFFFu;  // LLAMA_DEFAULT_SEED: random
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
};

struct GenerateParams {
  // Exactly one of prompt or messages is used: messages go through the chat template.
  std::string prompt;
  std::optional<std::vector<ChatMessage>> messages;
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;
};

struct GenerateStats {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  FinishReason finish = FinishReason::kStop;
  double prompt_ms = 0;      // tokenize + prompt decode
  double generation_ms = 0;  // first sampled token to the end
};

// Receives generated text in batches. The producer keeps text in its own
// buffer and hands it over only when the consumer has said it is idle
// (Wants()), or at the end. So a busy consumer gets fewer, larger batches and
// the per-token cost on the producer side is one relaxed atomic load.
// Thread-safety: Wants() may be called from any thread; the virtual calls
// come from the generating thread only.
class TextSink {
 public:
  virtual ~TextSink() = default;
  // Prompt accepted and decoded; text may follow. Called at most once.
  virtual void Started() = 0;
  // A batch of valid UTF-8. Never empty.
  virtual void Deliver(std::string_view batch) = 0;
  bool Wants() const { return wants_.load(std::memory_order_acquire); }

 protected:
  std::atomic<bool> wants_{true};
};

// One loaded model with its context. Not thread-safe: one caller at a time
// (the manager's worker thread).
class Model {
 public:
  virtual ~Model() = default;
  // Decodes one token and clears the KV cache. `cancel` aborts it.
  virtual Status Warmup(const std::atomic<bool>& cancel) = 0;
  // Generates for one request. Checks `cancel` at least once per token and
  // returns Status::Cancelled when it is set. The KV cache is cleared before
  // each request. `stats` is filled in as far as generation got, on error
  // too (so a cancelled request still reports its token counts).
  virtual Status Generate(const GenerateParams& params, TextSink& sink,
                          const std::atomic<bool>& cancel, GenerateStats& stats) = 0;
};
using ModelPtr = std::unique_ptr<Model>;

// Loads models. Thread-safe for one Load at a time.
class Backend {
 public:
  virtual ~Backend() = default;
  // Reads the file and creates a context. Honours control.abort through the
  // loader's progress callback; an aborted load returns Status::Cancelled.
  virtual Result<ModelPtr> Load(const LoadSpec& spec, LoadControl& control) = 0;
};
using BackendPtr = std::unique_ptr<Backend>;

}  // namespace modeld::llm
