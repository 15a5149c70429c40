#include "internal/llm/llama_log.h"

#include <llama.h>

#include <string>
#include <string_view>
#include "internal/sync/mutex.h"

#include "internal/log/log.h"

namespace modeld::llm {
namespace {

// llama.cpp logs a message in pieces (GGML_LOG_LEVEL_CONT continues the last
// one) from any thread; pieces are assembled here into whole lines.
struct LogState {
  sync::Mutex mu;
  std::string line GUARDED_BY(mu);
  ggml_log_level line_level GUARDED_BY(mu) = GGML_LOG_LEVEL_NONE;
  bool capturing GUARDED_BY(mu) = false;
  std::string first_error GUARDED_BY(mu);
};

// The cancel flag of the request running on this thread, if any.
thread_local const std::atomic<bool>* t_cancel = nullptr;
// Where this thread's error lines go instead of the log, if anywhere.
thread_local std::string* t_errors = nullptr;
thread_local bool t_errors_in_line = false;  // the last piece was captured

LogState& State() {
  // Leaked on purpose: ggml may log while static objects are destroyed.
  static LogState* state = new LogState;
  return *state;
}

// The one place llama.cpp's lines enter modeld's log.
void Emit(ggml_log_level level, std::string_view msg) {
  std::string text = "llama: ";
  text.append(msg);
  switch (level) {
    case GGML_LOG_LEVEL_ERROR:
      log::Error(text);
      break;
    case GGML_LOG_LEVEL_WARN:
      log::Warn(text);
      break;
    default:
      log::Debug(text);
      break;
  }
}

// Whether lines of `level` are assembled at all: llama.cpp's debug lines
// never are, its info lines only when modeld logs at debug level.
bool Wanted(ggml_log_level level) {
  switch (level) {
    case GGML_LOG_LEVEL_WARN:
    case GGML_LOG_LEVEL_ERROR:
      return true;
    case GGML_LOG_LEVEL_INFO:
      return log::Enabled(log::Level::kDebug);
    default:
      return false;
  }
}

void FinishLine(LogState& s) REQUIRES(s.mu) {
  while (!s.line.empty() && (s.line.back() == '\n' || s.line.back() == ' ')) s.line.pop_back();
  if (s.line.empty()) return;
  if (s.line_level == GGML_LOG_LEVEL_ERROR && s.capturing && s.first_error.empty()) {
    s.first_error = s.line;
  }
  Emit(s.line_level, s.line);
  s.line.clear();
}

void OnLog(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (text == nullptr) return;
  if (t_errors != nullptr) {
    if (level == GGML_LOG_LEVEL_ERROR || (level == GGML_LOG_LEVEL_CONT && t_errors_in_line)) {
      t_errors->append(text);
      t_errors_in_line = true;
      return;
    }
    t_errors_in_line = false;
  }
  if (t_cancel != nullptr && t_cancel->load(std::memory_order_relaxed) &&
      (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR)) {
    level = GGML_LOG_LEVEL_INFO;  // expected fallout of a cancellation
  }
  LogState& s = State();
  sync::MutexLock lock(s.mu);
  if (level == GGML_LOG_LEVEL_CONT) {
    level = s.line_level;
  } else {
    FinishLine(s);  // a new message ends an unterminated one
    s.line_level = level;
  }
  if (!Wanted(level)) return;
  s.line.append(text);
  if (!s.line.empty() && s.line.back() == '\n') FinishLine(s);
}

}  // namespace

void InstallLlamaLog() {
  static std::once_flag once;
  std::call_once(once, [] { llama_log_set(OnLog, nullptr); });
}

LlamaCancelQuiet::LlamaCancelQuiet(const std::atomic<bool>& cancel) { t_cancel = &cancel; }

LlamaCancelQuiet::~LlamaCancelQuiet() { t_cancel = nullptr; }

LlamaErrorCapture::LlamaErrorCapture() {
  LogState& s = State();
  sync::MutexLock lock(s.mu);
  s.capturing = true;
  s.first_error.clear();
}

LlamaErrorCapture::~LlamaErrorCapture() {
  LogState& s = State();
  sync::MutexLock lock(s.mu);
  s.capturing = false;
  s.first_error.clear();
}

std::string LlamaErrorCapture::FirstError() const {
  LogState& s = State();
  sync::MutexLock lock(s.mu);
  return s.first_error;
}

LlamaThreadErrors::LlamaThreadErrors() : outer_(nullptr) {
  outer_ = t_errors;
  t_errors = &text_;
  t_errors_in_line = false;
}

LlamaThreadErrors::~LlamaThreadErrors() {
  t_errors = outer_;
  t_errors_in_line = false;
}

std::string LlamaThreadErrors::Text() const {
  std::string out;
  size_t start = 0;
  while (start < text_.size()) {
    size_t end = text_.find('\n', start);
    if (end == std::string::npos) end = text_.size();
    std::string_view line(text_.data() + start, end - start);
    while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
    if (!line.empty()) {
      if (!out.empty()) out.append("; ");
      out.append(line);
    }
    start = end + 1;
  }
  return out;
}

void LlamaLogForTest(int level, const char* text) {
  OnLog(static_cast<ggml_log_level>(level), text, nullptr);
}

}  // namespace modeld::llm
