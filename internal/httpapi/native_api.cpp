#include "internal/httpapi/native_api.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "internal/httpapi/connection.h"
#include "internal/httpapi/error_mapping.h"
#include "internal/httpapi/infer_exchange.h"
#include "internal/httpapi/infer_request.h"
#include "internal/httpapi/message_text.h"
#include "internal/httpapi/native_format.h"

namespace modeld::httpapi {
namespace {

nlohmann::json IdOrNull(const std::string& id) {
  return id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id);
}

// Checked at request time: the file may have been deleted or added since
// the registry was read.
bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

void Readyz(const ApiContext& ctx, const std::shared_ptr<Connection>& conn) {
  const manager::Snapshot s = ctx.manager.GetSnapshot();
  nlohmann::json body;
  if (s.state == manager::ModelState::kReady && !s.loaded.empty() && s.target == s.loaded) {
    body = {{"status", "ready"}, {"model", s.loaded}};
    conn->Respond(200, body.dump());
    return;
  }
  switch (s.state) {
    case manager::ModelState::kLoading:
    case manager::ModelState::kWarming:
    case manager::ModelState::kReady:  // ready on the old model, a switch is pending
      body = {{"status", "loading"}, {"model", IdOrNull(s.target)}, {"progress", s.progress}};
      break;
    case manager::ModelState::kFailed:
      // The model whose load failed, as /metrics names it; the target may
      // already be cleared (nothing to restore).
      body = {{"status", "failed"},
              {"model", IdOrNull(s.last_error_model)},
              {"error", ctx.paths.Redact(s.last_error)}};
      break;
    case manager::ModelState::kEmpty:
      body = {{"status", "empty"}, {"model", nullptr}};
      break;
  }
  conn->Respond(503, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Models(const ApiContext& ctx, const std::shared_ptr<Connection>& conn) {
  const manager::Snapshot s = ctx.manager.GetSnapshot();
  nlohmann::json body = {{"models", ModelList(ctx, s)}, {"current", IdOrNull(s.loaded)}};
  conn->Respond(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool WantsNdjson(const HttpRequest& req) {
  auto it = req.find(http::field::accept);
  return it != req.end() && it->value().find("application/x-ndjson") != std::string_view::npos;
}

void Infer(ApiContext& ctx, const HttpRequest& req, const std::shared_ptr<Connection>& conn) {
  auto format = std::make_unique<NativeFormat>(WantsNdjson(req) ? NativeFormat::Kind::kNdjson
                                                                : NativeFormat::Kind::kSse);
  Result<InferCall> call = ParseInferRequest(req.body());
  const std::shared_ptr<const registry::Registry> reg = ctx.registry.Get();
  if (call.ok() && !call->model.empty() && reg->Find(call->model) == nullptr) {
    call = Status::NotFound("model " + QuoteForMessage(call->model) +
                            " is not in the registry; valid ids are: " + reg->ValidIds());
  }
  if (call.ok()) {
    // A max_tokens the client gave is out of range when it exceeds the
    // model's context; the default just ends when the context is full.
    const std::string id = call->model.empty() ? ctx.manager.GetSnapshot().target : call->model;
    const registry::ModelEntry* entry = reg->Find(id);
    if (entry != nullptr && call->max_tokens_given && call->params.max_tokens > entry->ctx_size) {
      call =
          Status::InvalidRequest("field 'max_tokens' must be at most the context size of model '" +
                                 id + "' (" + std::to_string(entry->ctx_size) + ")");
    }
  }
  if (!call.ok()) {
    conn->log().fields["outcome"] = call.status().code_name();
    conn->Respond(HttpStatusFor(call.status()), format->ErrorBody(call.status()));
    return;
  }
  auto request = std::make_shared<manager::Request>(call->model, std::move(call->params));
  auto exchange = std::make_shared<InferExchange>(conn, ctx.manager, ctx.paths, std::move(format),
                                                  call->stream, ctx.executor);
  exchange->Start(std::move(request));
}

}  // namespace

nlohmann::json ModelList(const ApiContext& ctx, const manager::Snapshot& s) {
  nlohmann::json models = nlohmann::json::array();
  const std::shared_ptr<const registry::Registry> reg = ctx.registry.Get();
  for (const auto& m : reg->models()) {
    if (!ctx.pinned.empty() && m.id != ctx.pinned) continue;  // served by other replicas
    std::string state = "unloaded";
    if (m.id == s.loaded) {
      state = "ready";
    } else if (m.id == s.target) {
      state = s.state == manager::ModelState::kFailed ? "failed" : "loading";
    } else if (std::find(s.standby.begin(), s.standby.end(), m.id) != s.standby.end()) {
      state = "standby";  // weights loaded, no context: a switch back skips the file
    }
    nlohmann::json model = {{"id", m.id}, {"name", m.name}};
    if (ctx.paths.expose()) model["path"] = m.path;
    model.update({{"quant", m.quant},
                  {"family", m.family},
                  {"loaded", m.id == s.loaded},
                  {"state", state},
                  {"file_exists", FileExists(m.path)},
                  {"ctx_size", m.ctx_size},
                  {"parallel", m.parallel}});
    models.push_back(std::move(model));
  }
  return models;
}

void RegisterNativeRoutes(Router& router, ApiContext& ctx) {
  router.Add(http::verb::get, "/healthz", [](const HttpRequest&, const auto& conn) {
    conn->Respond(200, R"({"status":"ok"})");
  });
  router.Add(http::verb::get, "/readyz",
             [&ctx](const HttpRequest&, const auto& conn) { Readyz(ctx, conn); });
  router.Add(http::verb::get, "/models",
             [&ctx](const HttpRequest&, const auto& conn) { Models(ctx, conn); });
  router.Add(http::verb::post, "/infer",
             [&ctx](const HttpRequest& req, const auto& conn) { Infer(ctx, req, conn); });
}

}  // namespace modeld::httpapi
