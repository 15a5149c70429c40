#pragma once

// The model registry: configs/models.yaml, validated once into an immutable
// value. A reload builds a new Registry and swaps it in; nothing here changes
// after construction.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::registry {

// One `models:` entry. Optional fields hold their defaults when absent.
struct ModelEntry {
  std::string id;       // unique, [A-Za-z0-9._:-]+
  std::string name;     // human-readable
  std::string path;     // absolute and lexically normalised
  std::string quant;    // e.g. f16, q8_0
  std::string family;   // e.g. llama
  int ctx_size = 4096;  // > 0
  int threads = 0;      // 0: the process default
  int n_gpu_layers = 0;
  int parallel = 0;           // sequences decoded together; the top-level default when absent
  std::string chat_template;  // empty: the template in the GGUF file
  // Let llama.cpp repack weights into CPU-friendly layouts (its
  // use_extra_bufts): faster decode for Q4_0, a slower load (a copy out of
  // the mapping instead of using it in place).
  bool repack = true;
  // Parse control-token text such as "</s>" in chat message content as
  // control tokens (llama-server's behaviour). Off: content is plain text,
  // so users cannot forge the template's markers.
  bool special_in_content = false;
  // How embeddings requests pool: "mean", "cls" or "last"; empty: the
  // GGUF's pooling type, else mean.
  std::string pooling;
  bool exists = false;  // whether `path` was a regular file at load time
  int line = 0;         // 1-based line of the entry in the config, for messages
};

inline constexpr int kDefaultMaxQueue = 64;
inline constexpr int kDefaultParallel = 4;  // as llama-server's default slots
inline constexpr int kMaxParallel = 64;
inline constexpr int64_t kDefaultPromptCacheBytes = int64_t{1} << 30;  // 1 GiB
inline constexpr int64_t kDefaultMaxBodyBytes = 1 << 20;

// How to read a registry file.
struct ParseOptions {
  // `models:` may be absent or empty (the models come from --models-dir).
  bool models_optional = false;
};

// A validated registry. Immutable after construction, so safe to read from
// any number of threads without synchronisation.
class Registry {
 public:
  // Reads and parses `path`; relative model paths resolve against the folder
  // of `path`. Errors name the file as given, e.g.
  //   configs/models.yaml:7: models[1].ctx_size: expected a positive integer, got "abc"
  static Result<Registry> LoadFile(const std::string& path, const ParseOptions& options = {});

  // Parses `yaml`; `file_name` is used only in messages, and relative model
  // paths resolve against `base_dir` (itself made absolute against the
  // working directory when relative). Never throws.
  static Result<Registry> Parse(std::string_view yaml, const std::string& file_name,
                                const std::string& base_dir, const ParseOptions& options = {});

  // Every problem of the file, not only the first (--check-config): empty
  // when LoadFile would succeed. Checks the YAML only, not the model files.
  static std::vector<Status> CheckFile(const std::string& path, const ParseOptions& options = {});

  // A registry with no models and every default, for a folder-only setup
  // (--models-dir without a YAML file).
  static Registry Empty();

  // This registry plus `extra` entries (from --models-dir) whose ids it
  // does not have yet: the registry's own entry wins a conflict. The ids
  // left out are appended to *shadowed when it is given.
  Registry WithModels(std::vector<ModelEntry> extra,
                      std::vector<std::string>* shadowed = nullptr) const;

  // The entry with this id, or nullptr. The pointer lives as long as *this.
  const ModelEntry* Find(std::string_view id) const;

  // Entries in file order.
  const std::vector<ModelEntry>& models() const { return models_; }

  // The configured default_model, or empty when the file names none.
  std::string_view default_model() const { return default_model_; }

  // Ids in file order joined with ", ", for "valid ids are: ..." messages.
  std::string ValidIds() const;

  // Top-level limits: max_queue (default 64) and max_body_bytes (default 1 MiB).
  int max_queue() const { return max_queue_; }
  int64_t max_body_bytes() const { return max_body_bytes_; }
  // Top-level `parallel`: the default for entries that set none (default 4).
  int parallel() const { return parallel_; }
  // Top-level `prompt_cache_bytes`: host RAM for KV caches kept across model
  // switches (default 1 GiB; 0 turns it off).
  int64_t prompt_cache_bytes() const { return prompt_cache_bytes_; }
  // Top-level `standby_bytes`: weights of switched-out models kept loaded,
  // least recently used evicted first (default 0: freed at once).
  int64_t standby_bytes() const { return standby_bytes_; }

  // Top-level `api_keys`: bearer tokens clients must send (empty: no
  // authentication). --api-key-file adds more.
  const std::vector<std::string>& api_keys() const { return api_keys_; }

  // The file name the registry was loaded from, as given.
  const std::string& file() const { return file_; }

 private:
  friend class Parser;
  Registry() = default;

  std::string file_;
  std::vector<ModelEntry> models_;
  std::string default_model_;
  int max_queue_ = kDefaultMaxQueue;
  int64_t max_body_bytes_ = kDefaultMaxBodyBytes;
  int parallel_ = kDefaultParallel;
  int64_t prompt_cache_bytes_ = kDefaultPromptCacheBytes;
  int64_t standby_bytes_ = 0;
  std::vector<std::string> api_keys_;
};

}  // namespace modeld::registry
