// Fuzz target: a POST /infer body through ParseInferRequest. A body that
// parses must hold only values the handler and the engine accept.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_support.h"
#include "internal/httpapi/infer_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modeld::fuzz::Check;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto call = modeld::httpapi::ParseInferRequest(body);
  if (!call.ok()) {
    Check(!call.status().message().empty(), "an error names its cause");
    return 0;
  }
  const auto& p = call->params;
  Check(!p.prompt.empty(), "prompt is non-empty");
  Check(p.max_tokens >= 1 && p.max_tokens <= modeld::httpapi::kMaxTokensLimit,
        "max_tokens in range");
  Check(p.sampling.temperature >= 0.0f && p.sampling.temperature <= 2.0f, "temperature in range");
  Check(p.sampling.top_p >= 0.0f && p.sampling.top_p <= 1.0f, "top_p in range");
  Check(p.sampling.top_k >= 0, "top_k non-negative");
  Check(p.stop.size() <= 16, "at most 16 stop strings");
  for (const auto& s : p.stop) Check(!s.empty(), "stop strings are non-empty");
  return 0;
}
