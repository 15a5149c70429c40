#pragma once

#include "internal/httpapi/api_context.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {

// GET /healthz, GET /readyz, GET /models and POST /infer.
void RegisterNativeRoutes(Router& router, ApiContext& ctx);

}  // namespace modeld::httpapi
