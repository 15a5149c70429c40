#include "internal/httpapi/embeddings_api.h"

#include "internal/httpapi/connection.h"
#include "internal/httpapi/embeddings_format.h"
#include "internal/httpapi/embeddings_request.h"
#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/infer_exchange.h"
#include "internal/httpapi/message_text.h"

namespace modeld::httpapi {
namespace {

void Embed(ApiContext& ctx, EmbeddingsFormat::Kind kind, const HttpRequest& req,
           const std::shared_ptr<Connection>& conn) {
  Result<EmbeddingsCall> call = ParseEmbeddingsRequest(req.body());
  const std::shared_ptr<const registry::Registry> reg = ctx.registry.Get();
  if (call.ok() && !call->model.empty() && reg->Find(call->model) == nullptr) {
    call = Status::NotFound("model " + QuoteForMessage(call->model) +
                            " is not in the registry; valid ids are: " + reg->ValidIds());
  }
  if (!call.ok()) {
    conn->log().fields["outcome"] = call.status().code_name();
    EmbeddingsFormat format(kind, false);
    conn->Respond(HttpStatusFor(call.status()), format.ErrorBody(call.status()));
    return;
  }
  conn->log().fields["inputs"] = call->inputs.size();
  llm::GenerateParams params;
  params.embed = std::move(call->inputs);
  auto request = std::make_shared<manager::Request>(call->model, std::move(params));
  auto format = std::make_unique<EmbeddingsFormat>(kind, call->base64);
  auto exchange = std::make_shared<InferExchange>(conn, ctx.manager, ctx.paths, std::move(format),
                                                  /*stream=*/false, ctx.executor);
  exchange->Start(std::move(request));
}

}  // namespace

void RegisterEmbeddingsRoutes(Router& router, ApiContext& ctx) {
  router.Add(http::verb::post, "/v1/embeddings", [&ctx](const HttpRequest& req, const auto& conn) {
    Embed(ctx, EmbeddingsFormat::Kind::kOpenAi, req, conn);
  });
  router.Add(http::verb::post, "/embed", [&ctx](const HttpRequest& req, const auto& conn) {
    Embed(ctx, EmbeddingsFormat::Kind::kNative, req, conn);
  });
}

}  // namespace modeld::httpapi
