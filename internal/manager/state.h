#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace modeld::manager {

// The lifecycle of the one model slot.
enum class ModelState { kEmpty, kLoading, kWarming, kReady, kFailed };

inline std::string_view ModelStateName(ModelState s) {
  switch (s) {
    case ModelState::kEmpty:
      return "empty";
    case ModelState::kLoading:
      return "loading";
    case ModelState::kWarming:
      return "warming";
    case ModelState::kReady:
      return "ready";
    case ModelState::kFailed:
      return "failed";
  }
  return "empty";
}

// A consistent view of the manager at one instant.
struct Snapshot {
  ModelState state = ModelState::kEmpty;
  std::string loaded;  // id of the model in memory and ready, or empty
  std::string target;  // id the manager is working towards, or empty
  float progress = 0;  // load progress of target while loading, 0..1
  size_t queued = 0;   // waiting for admission
  size_t running = 0;  // sequences decoding in the model's context
  int kv_cells_used = 0;
  int kv_cells = 0;              // the loaded model's context; 0 when none
  int64_t preemptions = 0;       // sequences that gave their KV cells back, since start
  std::string last_error;        // why the last load failed, if it did
  std::string last_error_model;  // the id whose load failed (with last_error)
  // Switched-out models whose weights stay loaded (least recently used
  // first), and the bytes they count against the standby budget.
  std::vector<std::string> standby;
  uint64_t standby_bytes = 0;
  std::map<std::string, int64_t> generated_tokens;  // by model, since start
};

// What happened in one load or switch, for logs and metrics.
struct SwitchReport {
  std::string from;  // empty when nothing was loaded
  std::string to;
  double load_ms = 0;  // model_ms + context_ms
  double warmup_ms = 0;
  std::string outcome;  // "ok", "failed" or "aborted"
  std::string error;
  double free_ms = 0;         // freeing the old model and context
  double model_ms = 0;        // reading the file: tensors, repacking, vocabulary
  double context_ms = 0;      // creating the context: KV cache, compute graphs
  bool from_standby = false;  // the weights were kept loaded; no file was read
};

}  // namespace modeld::manager
