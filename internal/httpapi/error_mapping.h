#pragma once

#include <string>
#include <string_view>

#include "pkg/types/status.h"

namespace modeld::httpapi {

// The one place where a Status becomes an HTTP status code.
int HttpStatusFor(const Status& status);

// Seconds for Retry-After, or 0 when the header does not apply.
int RetryAfterFor(const Status& status);

// The WWW-Authenticate value of a 401 ("Bearer"), or empty.
std::string_view ChallengeFor(const Status& status);

// {"error":{"code","message"}} — the native body.
std::string NativeErrorBody(const Status& status);

// {"error":{"message","type","code"}} — the OpenAI body.
std::string OpenAiErrorBody(const Status& status);

}  // namespace modeld::httpapi
