#pragma once

#include "internal/httpapi/api_context.h"
#include "internal/httpapi/router.h"

namespace modeld::httpapi {

// POST /v1/embeddings (OpenAI's shape) and POST /embed (native). Both
// submit to the same manager as generation: a request naming another model
// switches like any other request.
void RegisterEmbeddingsRoutes(Router& router, ApiContext& ctx);

}  // namespace modeld::httpapi
