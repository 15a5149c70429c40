#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace modeld {

// Every error modeld can report. The HTTP mapping lives in one place:
// internal/httpapi/error_mapping.cpp.
enum class Code {
  kOk,
  kInvalidRequest,
  kUnsupportedParameter,
  kModelNotFound,
  kPayloadTooLarge,
  kRequestTimeout,
  kNoModelLoaded,
  kQueueFull,
  kShuttingDown,
  kLoadFailed,
  kCancelled,
  kTemplateError,
  kInternal,
  kUnauthorized,          // no or a wrong API key
  kOriginNotAllowed,      // a browser Origin that --cors-origins does not allow
  kHostNotAllowed,        // a Host header that is not this server (DNS rebinding)
  kUnsupportedMediaType,  // a POST body that is not application/json
  kModelPinned,           // --pin: this replica serves one model, the request names another
};

// The wire name of a code, e.g. "model_not_found".
std::string_view CodeName(Code code);

// An error as a value: a code and a human-readable message. Immutable after
// construction, so safe to share between threads.
class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidRequest(std::string m) { return {Code::kInvalidRequest, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupportedParameter, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kModelNotFound, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kPayloadTooLarge, std::move(m)}; }
  static Status RequestTimeout(std::string m) { return {Code::kRequestTimeout, std::move(m)}; }
  static Status NoModel(std::string m) { return {Code::kNoModelLoaded, std::move(m)}; }
  static Status QueueFull(std::string m) { return {Code::kQueueFull, std::move(m)}; }
  static Status ShuttingDown(std::string m) { return {Code::kShuttingDown, std::move(m)}; }
  static Status LoadFailed(std::string m) { return {Code::kLoadFailed, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status TemplateError(std::string m) { return {Code::kTemplateError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unauthorized(std::string m) { return {Code::kUnauthorized, std::move(m)}; }
  static Status OriginNotAllowed(std::string m) { return {Code::kOriginNotAllowed, std::move(m)}; }
  static Status HostNotAllowed(std::string m) { return {Code::kHostNotAllowed, std::move(m)}; }
  static Status UnsupportedMediaType(std::string m) {
    return {Code::kUnsupportedMediaType, std::move(m)};
  }

  static Status ModelPinned(std::string m) { return {Code::kModelPinned, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  std::string_view code_name() const { return CodeName(code_); }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none. C++20 stand-in for
// std::expected<T, Status>.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    const Status* s = std::get_if<Status>(&v_);
    return s != nullptr ? *s : kOk;
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace modeld
