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
  for (const auto& m : ctx.registry.models()) data.push_back(ModelObject(m));
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  conn->Respond(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Generate(ApiContext& ctx, OpenAiKind kind, const HttpRequest& req,
              const std::shared_ptr<Connection>& conn) {
  Result<OpenAiCall> call =
      kind == OpenAiKind::kChat ? ParseChatRequest(req.body()) : ParseCompletionRequest(req.body());
  if (call.ok() && !call->model.empty() && ctx.registry.Find(call->model) == nullptr) {
    call = Status::NotFound("model " + QuoteForMessage(call->model) +
                            " is not in the registry; valid ids are: " + ctx.registry.ValidIds());
  }
  if (!call.ok()) {
    conn->log().fields["outcome"] = call.status().code_name();
    conn->Respond(HttpStatusFor(call.status()), OpenAiErrorBody(call.status()));
    return;
  }
  auto request = std::make_shared<manager::Request>(call->model, std::move(call->params));
  OpenAiResponseInfo info{kind,
                          call->stream,
                          call->include_usage,
                          NewId(kind == OpenAiKind::kChat ? "chatcmpl-" : "cmpl-"),
                          static_cast<int64_t>(std::time(nullptr)),
                          call->tools.active()};
  auto format = std::make_unique<OpenAiFormat>(std::move(info), request);
  auto exchange = std::make_shared<InferExchange>(conn, ctx.manager, ctx.paths, std::move(format),
                                                  call->stream, ctx.executor);
  exchange->Start(std::move(request));
}

}  // namespace

void RegisterOpenAiRoutes(Router& router, ApiContext& ctx) {
  router.Add(http::verb::get, "/v1/models",
             [&ctx](const HttpRequest&, const auto& conn) { ListModels(ctx, conn); });
  // The router matches exact paths: one route per registered model.
  for (const auto& m : ctx.registry.models()) {
    router.Add(http::verb::get, "/v1/models/" + m.id,
               [&ctx, id = m.id](const HttpRequest&, const auto& conn) {
                 const registry::ModelEntry* entry = ctx.registry.Find(id);
                 if (entry == nullptr) {
                   conn->Respond(404, OpenAiErrorBody(Status::NotFound(
                                          "model '" + id + "' is not in the registry")));
                   return;
                 }
                 conn->Respond(200, ModelObject(*entry).dump());
               });
  }
  router.Add(http::verb::post, "/v1/completions", [&ctx](const HttpRequest& req, const auto& conn) {
    Generate(ctx, OpenAiKind::kCompletion, req, conn);
  });
  router.Add(http::verb::post, "/v1/chat/completions",
             [&ctx](const HttpRequest& req, const auto& conn) {
               Generate(ctx, OpenAiKind::kChat, req, conn);
             });
}

}  // namespace modeld::httpapi
