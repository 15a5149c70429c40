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
  }
  return "internal_error";
}

}  // namespace modeld
