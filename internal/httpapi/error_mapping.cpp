#include "internal/httpapi/error_mapping.h"

#include <nlohmann/json.hpp>

namespace modeld::httpapi {

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk:
      return 200;
    case Code::kInvalidRequest:
    case Code::kUnsupportedParameter:
    case Code::kTemplateError:
      return 400;
    case Code::kUnauthorized:
      return 401;
    case Code::kOriginNotAllowed:
    case Code::kHostNotAllowed:
      return 403;
    case Code::kModelNotFound:
      return 404;
    case Code::kRequestTimeout:
      return 408;
    case Code::kPayloadTooLarge:
      return 413;
    case Code::kUnsupportedMediaType:
      return 415;
    case Code::kModelPinned:
      return 421;  // Misdirected Request: a gateway sent it to the wrong replica
    case Code::kNoModelLoaded:
    case Code::kCancelled:
      return 409;
    case Code::kQueueFull:
    case Code::kShuttingDown:
      return 503;
    case Code::kLoadFailed:
    case Code::kInternal:
      return 500;
  }
  return 500;
}

int RetryAfterFor(const Status& status) {
  switch (status.code()) {
    case Code::kQueueFull:
      return 1;
    case Code::kShuttingDown:
      return 5;
    default:
      return 0;
  }
}

std::string_view ChallengeFor(const Status& status) {
  // RFC 6750: a 401 names the scheme the client should use.
  return status.code() == Code::kUnauthorized ? "Bearer" : "";
}

std::string NativeErrorBody(const Status& status) {
  nlohmann::json j = {{"error", {{"code", status.code_name()}, {"message", status.message()}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string OpenAiErrorBody(const Status& status) {
  const int http = HttpStatusFor(status);
  const char* type = http >= 500 ? "server_error" : "invalid_request_error";
  nlohmann::json j = {
      {"error", {{"message", status.message()}, {"type", type}, {"code", status.code_name()}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace modeld::httpapi
