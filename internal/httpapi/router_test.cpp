#include "internal/httpapi/router.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modeld::httpapi {
namespace {

struct Recorder : RequestObserver {
  void OnRequest(std::string_view route, int status, double ms) override {
    calls.push_back(std::string(route) + " " + std::to_string(status) + " " +
                    std::to_string(static_cast<int>(ms)));
  }
  std::vector<std::string> calls;
};

TEST(RouterTest, ReportsRegisteredRoutesAndFoldsOthers) {
  Router router;
  const Router::Handler noop = [](const HttpRequest&, const std::shared_ptr<Connection>&) {};
  router.Add(http::verb::get, "/metrics", noop);
  router.Add(http::verb::post, "/v1/chat/completions", noop);
  router.Report("/metrics", 200, 1);  // no observer yet: dropped
  Recorder rec;
  router.SetObserver(&rec);
  router.Report("/v1/chat/completions", 400, 2);
  router.Report("/metrics", 200, 3);
  router.Report("/v1/chat/completions/extra", 404, 4);  // exact paths only
  router.Report("", 413, 5);                            // rejected before the request line was read
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"/v1/chat/completions 400 2", "/metrics 200 3",
                                                 "other 404 4", "other 413 5"}));
}

TEST(RouterTest, PrefixRoutesServeOneSegmentThatNoExactRouteServes) {
  Router router;
  const Router::Handler noop = [](const HttpRequest&, const std::shared_ptr<Connection>&) {};
  router.Add(http::verb::get, "/v1/models/tiny", noop);
  router.AddPrefix(http::verb::get, "/v1/models/", noop);
  EXPECT_EQ(router.AllowedMethods("/v1/models/tiny"), "GET, HEAD");  // the exact route only
  EXPECT_EQ(router.AllowedMethods("/v1/models/added"), "GET, HEAD");
  EXPECT_EQ(router.AllowedMethods("/v1/models/"), "");
  EXPECT_EQ(router.AllowedMethods("/v1/models/a/b"), "");
  Recorder rec;
  router.SetObserver(&rec);
  router.Report("/v1/models/tiny", 200, 1);
  router.Report("/v1/models/added", 200, 2);
  router.Report("/v1/models/a/b", 404, 3);
  EXPECT_EQ(rec.calls, (std::vector<std::string>{"/v1/models/tiny 200 1", "/v1/models/{id} 200 2",
                                                 "other 404 3"}));
}

TEST(RouterTest, AllowedMethodsAddHeadToGet) {
  Router router;
  const Router::Handler noop = [](const HttpRequest&, const std::shared_ptr<Connection>&) {};
  router.Add(http::verb::get, "/healthz", noop);
  router.Add(http::verb::post, "/infer", noop);
  EXPECT_EQ(router.AllowedMethods("/healthz"), "GET, HEAD");
  EXPECT_EQ(router.AllowedMethods("/infer"), "POST");
  EXPECT_EQ(router.AllowedMethods("/nope"), "");
}

}  // namespace
}  // namespace modeld::httpapi
