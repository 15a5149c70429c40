#pragma once

// The gtest fixture every black-box test uses: it checks that the generated
// models exist, starts servers, and after each test checks that every
// stderr line each server wrote was a JSON object.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/blackbox/http_client.h"
#include "tests/blackbox/server.h"

namespace modeld::blackbox {

using nlohmann::json;

// A generation long enough to still be running when a test acts on it
// (tests cancel or disconnect it; it is never run to its end).
inline constexpr int kLongTokens = 3000;

class BlackboxTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts modeld on `yaml`; nullptr (and a test failure) if it did not come
  // up, or (with `ready_model`) did not become ready on that model.
  Server* StartServer(const std::string& yaml, const ServerOptions& options = {},
                      const std::string& ready_model = "");
  // tiny, tiny-b and small, with `default_model` loaded (and ready) at startup.
  Server* StartStandard(const std::string& default_model = "tiny", const std::string& extra = "");

  std::vector<std::unique_ptr<Server>> servers_;
};

// An /infer body: prompt, max_tokens and greedy sampling unless `extra` overrides.
json InferBody(const std::string& prompt, int max_tokens, const json& extra = json::object());
// A body whose generation runs for seconds on tiny unless something stops it.
json LongBody(const std::string& model = "");

// Checks a done event / stream:false object: model, finish_reason, usage, timings.
void ExpectDoneShape(const json& done, const std::string& model);
// Checks a 4xx/5xx JSON error response: status, Content-Type and {"error":{code,message}}.
void ExpectErrorResponse(const HttpResponse& r, int status, const std::string& code);
// Checks GET /readyz: the status code, "status" and "model" (other fields may follow).
void ExpectReadyz(int port, int status, const std::string& state, const json& model);
// Checks that an /infer ended with a complete stream (done), no protocol problems.
void ExpectCompleted(const InferResult& r, const std::string& model);

}  // namespace modeld::blackbox
