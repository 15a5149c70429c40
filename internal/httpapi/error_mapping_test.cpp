#include "internal/httpapi/error_mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace modeld::httpapi {
namespace {

TEST(ErrorMappingTest, StatusCodesFollowTheContract) {
  struct Case {
    Status status;
    int http;
    int retry_after;
  };
  const Case cases[] = {
      {Status::InvalidRequest("x"), 400, 0}, {Status::Unsupported("x"), 400, 0},
      {Status::NotFound("x"), 404, 0},       {Status::TooLarge("x"), 413, 0},
      {Status::NoModel("x"), 409, 0},        {Status::Cancelled("x"), 409, 0},
      {Status::QueueFull("x"), 503, 1},      {Status::ShuttingDown("x"), 503, 5},
      {Status::LoadFailed("x"), 500, 0},     {Status::Internal("x"), 500, 0},
      {Status::Unauthorized("x"), 401, 0},   {Status::OriginNotAllowed("x"), 403, 0},
      {Status::HostNotAllowed("x"), 403, 0}, {Status::UnsupportedMediaType("x"), 415, 0},
      {Status::RequestTimeout("x"), 408, 0},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(HttpStatusFor(c.status), c.http) << c.status.code_name();
    EXPECT_EQ(RetryAfterFor(c.status), c.retry_after) << c.status.code_name();
  }
}

TEST(ErrorMappingTest, OnlyA401CarriesABearerChallenge) {
  EXPECT_EQ(ChallengeFor(Status::Unauthorized("x")), "Bearer");
  EXPECT_EQ(ChallengeFor(Status::OriginNotAllowed("x")), "");
  EXPECT_EQ(ChallengeFor(Status::Internal("x")), "");
  EXPECT_EQ(Status::Unauthorized("x").code_name(), "invalid_api_key");
  EXPECT_EQ(Status::UnsupportedMediaType("x").code_name(), "unsupported_media_type");
}

TEST(ErrorMappingTest, BodiesCarryCodeAndMessage) {
  const Status s = Status::NotFound("model 'x' not found; valid: a, b");
  auto native = nlohmann::json::parse(NativeErrorBody(s));
  EXPECT_EQ(native["error"]["code"], "model_not_found");
  EXPECT_EQ(native["error"]["message"], s.message());
  auto openai = nlohmann::json::parse(OpenAiErrorBody(s));
  EXPECT_EQ(openai["error"]["code"], "model_not_found");
  EXPECT_EQ(openai["error"]["type"], "invalid_request_error");
  EXPECT_EQ(openai["error"]["message"], s.message());
}

}  // namespace
}  // namespace modeld::httpapi
