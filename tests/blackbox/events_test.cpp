// Issue 14: GET /events (Server-Sent Events of state changes) and the status
// page at / (embedded, with a Content-Security-Policy and an ETag), against
// the real binary.

#include <csignal>
#include <functional>

#include "tests/blackbox/fixture.h"

namespace modeld::blackbox {
namespace {

// An open GET /events, read event by event.
class EventsClient {
 public:
  explicit EventsClient(int port, const Headers& headers = {})
      : http_(port, "GET", "/events", "", headers, Millis(5000)) {}
  HttpExchange& http() { return http_; }

  // Reads until an event satisfies `pred`; every event read so far stays in
  // seen(). nullopt when the stream ended or `timeout` (a hang guard) passed.
  std::optional<Event> Until(const std::function<bool(const Event&)>& pred, Millis timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (next_ < seen_.size()) {
        const Event& e = seen_[next_++];
        if (pred(e)) return e;
      }
      const auto left =
          std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      std::string bytes;
      if (!http_.ReadSome(bytes, left)) return std::nullopt;
      for (auto& e : parser_.Feed(bytes)) seen_.push_back(std::move(e));
    }
  }
  const std::vector<Event>& seen() const { return seen_; }
  const EventParser& parser() const { return parser_; }

 private:
  HttpExchange http_;
  EventParser parser_{StreamFormat::kSse};
  std::vector<Event> seen_;
  size_t next_ = 0;
};

bool Is(const Event& e, const std::string& type, const std::string& state = "",
        const std::string& model = "") {
  if (e.type != type || !e.json_ok()) return false;
  if (!state.empty() && Str(e.data, "state") != state) return false;
  return model.empty() || Str(e.data, type == "switch" ? "to" : "model") == model;
}

class EventsTest : public BlackboxTest {};

TEST_F(EventsTest, StartsWithASnapshotThenShowsASwitchAsItHappens) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  EventsClient events(s->port());
  ASSERT_TRUE(events.http().AwaitHeaders(Millis(5000))) << events.http().error();
  ASSERT_EQ(events.http().status(), 200);
  EXPECT_EQ(events.http().Header("content-type"), "text/event-stream; charset=utf-8");
  EXPECT_EQ(events.http().Header("cache-control"), "no-cache");

  auto snap = events.Until([](const Event& e) { return e.type == "snapshot"; }, Millis(5000));
  ASSERT_TRUE(snap.has_value()) << events.http().error();
  EXPECT_EQ(events.seen().size(), 1u) << "the snapshot comes first";
  EXPECT_EQ(Str(snap->data, "state"), "ready");
  EXPECT_EQ(Str(snap->data, "loaded"), "tiny");
  ASSERT_TRUE(snap->data["models"].is_array());
  std::vector<std::string> ids;
  for (const auto& m : snap->data["models"]) ids.push_back(Str(m, "id"));
  EXPECT_EQ(ids, (std::vector<std::string>{"tiny", "tiny-b", "small"}));
  EXPECT_TRUE(snap->data["switches"].is_array());
  EXPECT_EQ(snap->data["queued"], 0);
  EXPECT_EQ(snap->data["running"], 0);

  ExpectCompleted(Infer(s->port(), InferBody("switch please", 4, {{"model", "tiny-b"}})), "tiny-b");
  auto loading = events.Until([](const Event& e) { return Is(e, "state", "loading", "tiny-b"); },
                              Millis(10000));
  ASSERT_TRUE(loading.has_value()) << events.http().error();
  auto ready =
      events.Until([](const Event& e) { return Is(e, "state", "ready", "tiny-b"); }, Millis(10000));
  ASSERT_TRUE(ready.has_value());
  auto sw =
      events.Until([](const Event& e) { return Is(e, "switch", "", "tiny-b"); }, Millis(10000));
  ASSERT_TRUE(sw.has_value());
  EXPECT_EQ(Str(sw->data, "from"), "tiny");
  EXPECT_EQ(Str(sw->data, "outcome"), "ok");
  for (const char* k : {"free_ms", "model_ms", "context_ms", "load_ms", "warmup_ms", "total_ms"}) {
    EXPECT_TRUE(sw->data[k].is_number()) << k << ": " << sw->raw;
  }
  auto done =
      events.Until([](const Event& e) { return Is(e, "request", "", "tiny-b"); }, Millis(10000));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(Str(done->data, "outcome"), "ok");
  EXPECT_EQ(done->data["completion_tokens"], 4);
  EXPECT_TRUE(events.parser().malformed().empty());

  // A new subscriber's snapshot has the switch in its history.
  EventsClient late(s->port());
  auto snap2 = late.Until([](const Event& e) { return e.type == "snapshot"; }, Millis(5000));
  ASSERT_TRUE(snap2.has_value());
  EXPECT_EQ(Str(snap2->data, "loaded"), "tiny-b");
  ASSERT_FALSE(snap2->data["switches"].empty());
  EXPECT_EQ(Str(snap2->data["switches"].back(), "to"), "tiny-b");
  EXPECT_GE(snap2->data["requests"]["finished"]["ok"].get<int>(), 1);
}

TEST_F(EventsTest, ShutdownEndsOpenStreamsCleanly) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  EventsClient events(s->port());
  ASSERT_TRUE(events.Until([](const Event& e) { return e.type == "snapshot"; }, Millis(5000)));
  ASSERT_TRUE(s->process().Signal(SIGTERM));
  // The stream ends with its last chunk (not a reset after the grace period).
  std::string rest;
  EXPECT_TRUE(events.http().ReadAll(rest, Millis(10000))) << events.http().error();
  auto exit = s->process().WaitExit(Millis(10000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
}

TEST_F(EventsTest, ThePageLoadsWithoutAKeyButItsDataNeedsOne) {
  Server* s = StartStandard("tiny", "api_keys: [sk-page]\n");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(Get(s->port(), "/").status, 200);
  EXPECT_EQ(Get(s->port(), "/app.js").status, 200);
  EXPECT_EQ(Get(s->port(), "/app.css").status, 200);
  ExpectErrorResponse(Get(s->port(), "/events"), 401, "invalid_api_key");
  EventsClient events(s->port(), {{"authorization", "Bearer sk-page"}});
  EXPECT_TRUE(events.Until([](const Event& e) { return e.type == "snapshot"; }, Millis(5000)));
}

TEST_F(EventsTest, ThePageIsServedWithAPolicyAnEtagAndRevalidation) {
  Server* s = StartStandard("tiny");
  ASSERT_NE(s, nullptr);
  const HttpResponse page = Get(s->port(), "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>modeld</title>"), std::string::npos);
  const std::string csp = page.Header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(page.Header("cache-control"), "no-cache");
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  const std::string etag = page.Header("etag");
  ASSERT_EQ(etag.size(), 18u) << etag;

  const HttpResponse again = Request(s->port(), "GET", "/", "", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.body, "");
  EXPECT_EQ(again.Header("etag"), etag);
  EXPECT_EQ(Request(s->port(), "GET", "/", "", {{"if-none-match", "\"other\""}}).status, 200);

  const HttpResponse js = Get(s->port(), "/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.Header("etag"), etag);
  EXPECT_EQ(Get(s->port(), "/app.css").Header("content-type"), "text/css; charset=utf-8");
  ExpectErrorResponse(Request(s->port(), "POST", "/", "{}", {{"content-type", "application/json"}}),
                      405, "method_not_allowed");
}

}  // namespace
}  // namespace modeld::blackbox
