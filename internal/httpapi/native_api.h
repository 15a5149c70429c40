#pragma once

#include <nlohmann/json.hpp>

#include "internal/httpapi/api_context.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {

// The registry's models with their state in `snapshot`, as GET /models
// lists them (also the "models" of the /events snapshot).
nlohmann::json ModelList(const ApiContext& ctx, const manager::Snapshot& snapshot);

// GET /healthz, GET /readyz, GET /models and POST /infer.
void RegisterNativeRoutes(Router& router, ApiContext& ctx);

}  // namespace modeld::httpapi
