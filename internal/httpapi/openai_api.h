#pragma once

#include "internal/httpapi/api_context.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {

// GET /v1/models, GET /v1/models/{id}, POST /v1/completions and
// POST /v1/chat/completions. They submit to the same manager as /infer: one
// switch policy, one queue.
void RegisterOpenAiRoutes(Router& router, ApiContext& ctx);

}  // namespace modeld::httpapi
