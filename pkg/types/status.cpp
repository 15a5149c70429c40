#include "pkg/types/status.h"

namespace modeld {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidRequest:
      return "invalid_request";
    case Code::kUnsupportedParameter:
      return "unsupported_parameter";
    case Code::kModelNotFound:
      return "model_not_found";
    case Code::kPayloadTooLarge:
      return "payload_too_large";
    case Code::kRequestTimeout:
      return "request_timeout";
    case Code::kNoModelLoaded:
      return "no_model_loaded";
    case Code::kQueueFull:
      return "queue_full";
    case Code::kShuttingDown:
      return "shutting_down";
    case Code::kLoadFailed:
      return "load_failed";
    case Code::kCancelled:
      return "cancelled";
    case Code::kTemplateError:
      return "template_error";
    case Code::kInternal:
      return "internal_error";
    case Code::kUnauthorized:
      return "invalid_api_key";  // OpenAI's code for a missing or wrong key
    case Code::kOriginNotAllowed:
      return "origin_not_allowed";
    case Code::kHostNotAllowed:
      return "host_not_allowed";
    case Code::kUnsupportedMediaType:
      return "unsupported_media_type";
    case Code::kModelPinned:
      return "model_pinned";
  }
  return "internal_error";
}

}  // namespace modeld
