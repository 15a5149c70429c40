#pragma once

// Routes llama.cpp's and ggml's log output into modeld's logger, and lets a
// loader capture the error llama.cpp logged for a failed load.

#include <atomic>
#include <string>

namespace modeld::llm {

// Installs the log callback (process-wide; idempotent). Debug and info lines
// are dropped; warnings and errors become one JSON line each, "llama: ...".
void InstallLlamaLog();

// While alive, llama.cpp's warnings and errors on the calling thread are
// logged at debug level once `cancel` is set: an aborted decode logs several
// "errors" that are only the expected result of a cancellation.
// Thread-safety: affects the constructing thread only.
class LlamaCancelQuiet {
 public:
  explicit LlamaCancelQuiet(const std::atomic<bool>& cancel);
  ~LlamaCancelQuiet();
  LlamaCancelQuiet(const LlamaCancelQuiet&) = delete;
  LlamaCancelQuiet& operator=(const LlamaCancelQuiet&) = delete;
};

// While alive, remembers the first error line llama.cpp logs (from any
// thread). Used around a load, whose failure reason llama.cpp only logs.
// Thread-safety: at most one capture at a time (Backend loads one at a time);
// FirstError() may be called from the owning thread at any time.
class LlamaErrorCapture {
 public:
  LlamaErrorCapture();
  ~LlamaErrorCapture();
  LlamaErrorCapture(const LlamaErrorCapture&) = delete;
  LlamaErrorCapture& operator=(const LlamaErrorCapture&) = delete;

  // The first error line since construction, without the trailing newline;
  // empty when none was logged.
  std::string FirstError() const;
};

// While alive, llama.cpp's error lines logged on the calling thread are
// collected here instead of the log: they describe a client's input (an
// invalid grammar), which the client gets in its 400.
// Thread-safety: affects the constructing thread only.
class LlamaThreadErrors {
 public:
  LlamaThreadErrors();
  ~LlamaThreadErrors();
  LlamaThreadErrors(const LlamaThreadErrors&) = delete;
  LlamaThreadErrors& operator=(const LlamaThreadErrors&) = delete;

  // The lines collected so far, joined by "; ", without newlines.
  std::string Text() const;

 private:
  std::string text_;
  std::string* outer_;  // the enclosing capture on this thread, if any
};

// Feeds one callback invocation as llama.cpp would; for tests. `level` is a
// ggml_log_level value.
void LlamaLogForTest(int level, const char* text);

}  // namespace modeld::llm
