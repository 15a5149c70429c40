#include "internal/httpapi/openai_api.h"

#include <sys/stat.h>

#include <ctime>
#include <random>

#include <nlohmann/json.hpp>

#include "internal/httpapi/connection.h"
#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/infer_exchange.h"
#include "internal/httpapi/message_text.h"
#include "internal/httpapi/openai_format.h"
#include "internal/httpapi/openai_request.h"

namespace modeld::httpapi {
namespace {

// "chatcmpl-" or "cmpl-" and 24 random letters and digits, like OpenAI's ids.
std::string NewId(std::string_view prefix) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(kChars) - 2);
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id.push_back(kChars[pick(rng)]);
  return id;
}

// The model file's modification time; 0 when it is missing.
int64_t FileCreated(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

nlohmann::json ModelObject(const registry::ModelEntry& m) {
  return {
      {"id", m.id}, {"object", "model"}, {"created", FileCreated(m.path)}, {"owned_by", "modeld"}};
}

void ListModels(const ApiContext& ctx, const std::shared_ptr<Connection>& conn) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : ctx.registry.Get()->models()) {
    if (ctx.pinned.empty() || m.id == ctx.pinned) data.push_back(ModelObject(m));
  }
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  conn->Respond(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// GET /v1/models/{id}: the model object, or 404 model_not_found (also for
// a model other than the pinned one).
void RetrieveModel(const ApiContext& ctx, const std::string& id,
                   const std::shared_ptr<Connection>& conn) {
  const auto reg = ctx.registry.Get();
  const registry::ModelEntry* entry = reg->Find(id);
  if (entry == nullptr) {
    conn->Respond(404, OpenAiErrorBody(Status::NotFound("model " + QuoteForMessage(id) +
                                                        " is not in the registry")));
    return;
  }
  if (!ctx.pinned.empty() && id != ctx.pinned) {
    conn->Respond(404, OpenAiErrorBody(Status::NotFound("model " + QuoteForMessage(id) +
                                                        " is not served here: this server "
                                                        "serves only model '" +
                                                        ctx.pinned + "' (--pin)")));
    return;
  }
  conn->Respond(200, ModelObject(*entry).dump());
}

void Generate(ApiContext& ctx, OpenAiKind kind, const HttpRequest& req,
              const std::shared_ptr<Connection>& conn) {
  Result<OpenAiCall> call =
      kind == OpenAiKind::kChat ? ParseChatRequest(req.body()) : ParseCompletionRequest(req.body());
  if (const auto reg = ctx.registry.Get();
      call.ok() && !call->model.empty() && reg->Find(call->model) == nullptr) {
    call = Status::NotFound("model " + QuoteForMessage(call->model) +
                            " is not in the registry; valid ids are: " + reg->ValidIds());
  }
  if (!call.ok()) {
    conn->log().fields["outcome"] = call.status().code_name();
    conn->Respond(HttpStatusFor(call.status()), OpenAiErrorBody(call.status()));
    return;
  }
  const bool tools = call->params.tools.active();
  auto request = std::make_shared<manager::Request>(call->model, std::move(call->params));
  OpenAiResponseInfo info{kind,
                          call->stream,
                          call->include_usage,
                          NewId(kind == OpenAiKind::kChat ? "chatcmpl-" : "cmpl-"),
                          static_cast<int64_t>(std::time(nullptr)),
                          tools};
  auto format = std::make_unique<OpenAiFormat>(std::move(info), request);
  auto exchange = std::make_shared<InferExchange>(conn, ctx.manager, ctx.paths, std::move(format),
                                                  call->stream, ctx.executor);
  exchange->Start(std::move(request));
}

}  // namespace

void RegisterOpenAiRoutes(Router& router, ApiContext& ctx) {
  router.Add(http::verb::get, "/v1/models",
             [&ctx](const HttpRequest&, const auto& conn) { ListModels(ctx, conn); });
  // One exact route per model registered at startup (its own label in
  // modeld_requests_total); ids a reload adds go to the prefix route.
  for (const auto& m : ctx.registry.Get()->models()) {
    router.Add(
        http::verb::get, "/v1/models/" + m.id,
        [&ctx, id = m.id](const HttpRequest&, const auto& conn) { RetrieveModel(ctx, id, conn); });
  }
  router.AddPrefix(
      http::verb::get, "/v1/models/", [&ctx](const HttpRequest& req, const auto& conn) {
        std::string_view path = req.target();
        path = path.substr(0, path.find('?'));
        RetrieveModel(ctx, std::string(path.substr(std::string_view("/v1/models/").size())), conn);
      });
  router.Add(http::verb::post, "/v1/completions", [&ctx](const HttpRequest& req, const auto& conn) {
    Generate(ctx, OpenAiKind::kCompletion, req, conn);
  });
  router.Add(http::verb::post, "/v1/chat/completions",
             [&ctx](const HttpRequest& req, const auto& conn) {
               Generate(ctx, OpenAiKind::kChat, req, conn);
             });
}

}  // namespace modeld::httpapi
