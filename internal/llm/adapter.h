#pragma once

// The seam between modeld and an inference engine. The manager holds these
// interfaces; llama_backend.{h,cpp} implements them on llama.cpp, and the
// manager's unit tests implement them with a fake.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/llm/tool_types.h"
#include "pkg/types/status.h"

namespace modeld::llm {

// How the per-token vectors of one embeddings input become one vector.
enum class Pooling { kDefault, kMean, kCls, kLast };

// What to load. Paths are absolute by the time they get here.
struct LoadSpec {
  std::string id;
  std::string path;
  int ctx_size = 4096;
  int threads = 0;  // 0: the process default
  int n_gpu_layers = 0;
  // Sequences decoded together in the one context; its ctx_size KV cells are
  // shared by all of them (a unified cache), so one request may use them all.
  int parallel = 4;
  std::string chat_template;  // overrides the GGUF template when non-empty
  bool repack = true;         // llama.cpp's use_extra_bufts: repacked weights for the CPU
  // Parse control-token text ("</s>") in chat message content as control
  // tokens (llama-server's behaviour); off: content is plain text.
  bool special_in_content = false;
  // Streamed text is handed to a sink at most once per this interval (the
  // first batch goes at once). Not a registry key: tests set 0 to get one
  // hand-over per token, whatever the machine's speed.
  std::chrono::microseconds deliver_interval{2000};
  // How an embeddings request pools per-token vectors; kDefault: the GGUF's
  // `<arch>.pooling_type`, else mean (docs/decisions.md, "Embeddings").
  Pooling pooling = Pooling::kDefault;
};

// Shared between the loader and whoever may want to abort it. Thread-safe.
struct LoadControl {
  std::atomic<bool> abort{false};     // set to stop a load at its next progress report
  std::atomic<float> progress{0.0f};  // 0..1, written by the loader
  // Optional; called by the loader with each new progress value (the
  // manager's observers and /events see a load advance without polling).
  std::function<void(float)> on_progress;
  // Phases of a completed Load, written by the loader before it returns
  // (read by its caller afterwards).
  double model_ms = 0;        // reading the file: tensors, repacking, vocabulary
  double context_ms = 0;      // creating the context: KV cache, compute graphs
  bool from_standby = false;  // the weights came from standby, not the file
};

// A switched-out model whose weights stay loaded.
struct StandbyModel {
  std::string id;
  uint64_t bytes = 0;  // what it counts against the standby budget
};

struct ChatMessage {
  ChatMessage() = default;
  // Most messages are a role and text (and brace-initialized so).
  ChatMessage(std::string r, std::string c) : role(std::move(r)), content(std::move(c)) {}

  std::string role;  // system, user, assistant or tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // an assistant's calls
  std::string tool_call_id;          // a tool message: the call it answers
  std::string name;                  // a tool message: the function's name (optional)
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

// One input of an embeddings request: text, or token ids the client made.
struct EmbedInput {
  std::string text;
  std::optional<std::vector<int32_t>> tokens;  // used instead of text when set
};

struct GenerateParams {
  // Set: an embeddings request (its inputs, in order), and nothing below
  // applies but the model's pooling. Unset: a generation.
  std::optional<std::vector<EmbedInput>> embed;
  // Exactly one of prompt or messages is used: messages go through the chat template.
  std::string prompt;
  std::optional<std::vector<ChatMessage>> messages;
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;
  // Constrained output (at most one is set; empty: free text). A JSON
  // schema (JSON text), converted to a grammar by llama.cpp's common
  // library, or a GBNF grammar as llama.cpp reads it. Generation then
  // follows the grammar token by token and ends where it is complete.
  std::string json_schema;
  std::string grammar;
  // Tools offered to the model (chat only; see PromptBuilder). When active,
  // the reply is parsed by GenerateStats::tool_parser.
  ToolRequest tools;
};

struct GenerateStats {
  int prompt_tokens = 0;
  int cached_tokens = 0;         // prompt tokens whose KV cache was reused, not decoded
  bool cache_from_host = false;  // restored from the host-RAM cache, not the context
  int completion_tokens = 0;
  FinishReason finish = FinishReason::kStop;
  double prompt_ms = 0;      // tokenize + prompt decode
  double generation_ms = 0;  // first sampled token to the end
  // An embeddings request: one L2-normalized vector per input, n_embd
  // floats each, in input order (prompt_tokens counts every input's tokens).
  std::vector<float> embeddings;
  int n_embd = 0;
  // A request with active tools: how to read its reply (set at Start).
  ToolReplyParserPtr tool_parser;
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

// A request checked against the model and tokenized, ready to start.
struct PreparedPrompt {
  std::vector<int32_t> tokens;  // llama_token values
  // The most KV cells the sequence may fill: prompt plus max_tokens, at
  // most the context.
  int cells = 0;
  // An embeddings request: `tokens` holds every input, one after another;
  // input i ends at input_ends[i]. Empty for a generation.
  std::vector<int> input_ends;
  // The GBNF that constrains the output, already compiled once against the
  // vocabulary; empty: free text.
  std::string grammar;
  // Lazy: the grammar applies from the first match of a trigger on (a
  // pattern over the generated text, or a token); before it, text is free.
  bool grammar_lazy = false;
  std::vector<std::string> trigger_patterns;  // regular expressions
  std::vector<int32_t> trigger_tokens;
  // Control tokens the output keeps as text (the template's tool markers).
  std::vector<int32_t> preserved_tokens;
  // Stop strings the template adds to the request's own.
  std::vector<std::string> extra_stops;
  // Active tools: the parser of the reply (see ToolReplyParser).
  ToolReplyParserPtr tool_parser;
};

// How one sequence ended (Model::Step). Its cells are free by then, and its
// GenerateStats (given to Start) are final.
struct SeqEnd {
  int seq = 0;
  Status status;  // ok, Cancelled, or an error of the engine
};

// One loaded model with its one context, in which up to max_sequences()
// requests run together: each Step decodes one token for every generating
// sequence and a prompt chunk for those still prefilling, in one batch. The
// sequences share the context's KV cells; when they run out, the most
// recently started sequence gives its cells back and is recomputed later
// (preemption), so no request fails because of the others.
// Not thread-safe: one caller at a time (the manager's worker thread).
class Model {
 public:
  virtual ~Model() = default;
  // Decodes one token and clears the KV cache. `cancel` aborts it.
  virtual Status Warmup(const std::atomic<bool>& cancel) = 0;

  // Sequence slots (0..max_sequences()-1) and the KV cells they share.
  virtual int max_sequences() const = 0;
  virtual int n_ctx() const = 0;
  // KV cells holding data right now, over all sequences, including the
  // kept caches of finished ones (given back first when cells run short).
  virtual int used_cells() const = 0;

  // Validates and tokenizes a request; the errors are the request's own
  // (InvalidRequest, TemplateError). Touches no sequence.
  virtual Result<PreparedPrompt> Prepare(const GenerateParams& params) = 0;
  // Starts `prompt` in the free slot `seq` (a handle: Step reports the end
  // under it). The model may reuse the KV cache of an earlier request whose
  // tokens begin the prompt (the longest such prefix), and then decodes
  // only the rest. `params`, `sink`, `cancel` and `stats` must outlive the
  // sequence (until Step reports its end). `cancel` is checked at least once
  // per step; `stats` is filled in as far as generation got, on error too.
  virtual void Start(int seq, PreparedPrompt prompt, const GenerateParams& params, TextSink& sink,
                     const std::atomic<bool>& cancel, GenerateStats& stats) = 0;
  // One decode step over every started sequence. Appends those that ended
  // (finished, cancelled or failed) to `ended`. A step in which every
  // sequence is cancelled stops mid-decode.
  virtual void Step(std::vector<SeqEnd>& ended) = 0;
  // True while any sequence is started and not yet ended.
  virtual bool busy() const = 0;
  // Sequences that gave their KV cells back because the cache was full
  // (they are recomputed later), since the model was loaded.
  virtual int64_t preemptions() const = 0;

  // One request on its own: Prepare, Start in slot 0, Step until it ends.
  // For tests and tools; requires that no sequence is running.
  Status Generate(const GenerateParams& params, TextSink& sink, const std::atomic<bool>& cancel,
                  GenerateStats& stats) {
    stats = GenerateStats{};
    if (cancel.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    Result<PreparedPrompt> prompt = Prepare(params);
    if (!prompt.ok()) return prompt.status();
    Start(0, std::move(prompt).value(), params, sink, cancel, stats);
    std::vector<SeqEnd> ended;
    while (ended.empty()) Step(ended);
    return ended.front().status;
  }
};
using ModelPtr = std::unique_ptr<Model>;

// Loads models. Thread-safe for one Load at a time.
class Backend {
 public:
  virtual ~Backend() = default;
  // Reads the file and creates a context. Honours control.abort through the
  // loader's progress callback; an aborted load returns Status::Cancelled.
  virtual Result<ModelPtr> Load(const LoadSpec& spec, LoadControl& control) = 0;
  // Returns freed heap to the operating system. Called when idle after a
  // switch, not before a load: a load that reuses the freed memory of the
  // model before it takes no page faults for it.
  virtual void ReleaseFreeMemory() {}
  // Bytes held by the host-RAM prompt cache (KV state kept across switches).
  virtual uint64_t prompt_cache_bytes() const { return 0; }
  // The errors Model::Prepare would give for `params` on the model `spec`
  // names, found without loading it, so a request that cannot run is
  // refused before a switch cancels others' work. Ok when it cannot tell.
  virtual Status Precheck(const LoadSpec& spec, const GenerateParams& params) {
    (void)spec;
    (void)params;
    return Status::Ok();
  }
  // Switched-out models whose weights stay loaded, least recently used
  // first, and the bytes they count against the standby budget.
  virtual std::vector<StandbyModel> standby() const { return {}; }
  virtual uint64_t standby_bytes() const { return 0; }
  // Frees the standby weights kept under registry id `id` (a config reload
  // removed or changed that model).
  virtual void DropStandby(const std::string& id) { (void)id; }
};
using BackendPtr = std::unique_ptr<Backend>;

}  // namespace modeld::llm
