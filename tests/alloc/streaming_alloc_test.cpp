// Heap allocations per streamed token through the real serving path: the
// HTTP server, router, native and OpenAI handlers, InferExchange (which
// posts through the io thread's any_io_executor), Request and the Manager's
// worker, over a real socket. Only the model is a stand-in that makes no
// allocation of its own per token, so every allocation counted is modeld's.
// bench/serving_path.cpp measures the worker-side text work of the llama.cpp
// adapter (UTF-8 hold-back, stop matching) with the real classes.
//
// This binary replaces the global operator new (bench/counting_alloc.cpp),
// so it is its own executable, not part of modeld_unit_tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/counting_alloc.h"
#include "internal/httpapi/api_context.h"
#include "internal/httpapi/native_api.h"
#include "internal/httpapi/openai_api.h"
#include "internal/httpapi/router.h"
#include "internal/httpapi/server.h"
#include "internal/llm/adapter.h"
#include "internal/manager/manager.h"
#include "internal/registry/load_specs.h"
#include "internal/registry/registry.h"
#include "internal/registry/registry_store.h"

namespace modeld {
namespace {

// Emits one fixed piece per step to every started sequence, handing text over
// whenever the sink wants it, as the llama.cpp adapter does. Its buffers are
// reserved up front, so it allocates nothing per token.
// Not thread-safe: the manager's worker drives it.
class TokenModel final : public llm::Model {
 public:
  TokenModel() { pending_.reserve(1 << 16); }
  Status Warmup(const std::atomic<bool>&) override { return Status::Ok(); }
  int max_sequences() const override { return 1; }
  int n_ctx() const override { return 1 << 20; }
  int used_cells() const override { return 0; }
  bool busy() const override { return active_; }
  int64_t preemptions() const override { return 0; }
  Result<llm::PreparedPrompt> Prepare(const llm::GenerateParams& params) override {
    llm::PreparedPrompt p;
    p.tokens.assign(4, 0);
    p.cells = 4 + params.max_tokens;
    return p;
  }
  void Start(int, llm::PreparedPrompt, const llm::GenerateParams& params, llm::TextSink& sink,
             const std::atomic<bool>& cancel, llm::GenerateStats& stats) override {
    active_ = true;
    started_ = false;
    emitted_ = 0;
    params_ = &params;
    sink_ = &sink;
    cancel_ = &cancel;
    stats_ = &stats;
    stats = {};
    stats.prompt_tokens = 4;
  }
  void Step(std::vector<llm::SeqEnd>& ended) override {
    if (!active_) return;
    if (cancel_->load(std::memory_order_relaxed)) {
      End(Status::Cancelled("cancelled"), ended);
      return;
    }
    if (!started_) {
      started_ = true;
      sink_->Started();
    }
    // A quote and a newline keep JSON escaping on the path.
    static constexpr std::array<std::string_view, 4> kPieces = {" barca", " \"q\"", "\n", " dol"};
    pending_.append(kPieces[static_cast<size_t>(emitted_) % kPieces.size()]);
    ++emitted_;
    ++stats_->completion_tokens;
    // Waits for the consumer, like a model slower than the client: each
    // token becomes its own event, so a per-event cost shows per token.
    while (!sink_->Wants() && !cancel_->load(std::memory_order_relaxed)) std::this_thread::yield();
    if (sink_->Wants()) {
      sink_->Deliver(pending_);
      pending_.clear();
    }
    if (emitted_ >= params_->max_tokens) {
      stats_->finish = llm::FinishReason::kLength;
      if (!pending_.empty()) sink_->Deliver(pending_);
      pending_.clear();
      End(Status::Ok(), ended);
    }
  }

 private:
  void End(Status status, std::vector<llm::SeqEnd>& ended) {
    active_ = false;
    ended.push_back({0, std::move(status)});
  }

  bool active_ = false;
  bool started_ = false;
  int emitted_ = 0;
  const llm::GenerateParams* params_ = nullptr;
  llm::TextSink* sink_ = nullptr;
  const std::atomic<bool>* cancel_ = nullptr;
  llm::GenerateStats* stats_ = nullptr;
  std::string pending_;
};

// Thread-safety: Load runs on the manager's worker only.
class TokenBackend final : public llm::Backend {
 public:
  Result<llm::ModelPtr> Load(const llm::LoadSpec&, llm::LoadControl& control) override {
    control.progress.store(1.0f);
    return llm::ModelPtr(std::make_unique<TokenModel>());
  }
};

// The service as cmd/modeld wires it, minus the llama.cpp backend.
class Service {
 public:
  Service()
      : registry_(MakeRegistry()),
        store_(registry_),
        manager_(backend_, registry::LoadSpecs(*registry_), {}, nullptr),
        server_(router_, httpapi::Limits{}),
        ctx_{manager_, store_, server_.io().get_executor(), httpapi::ClientPaths({}, false), ""} {
    httpapi::RegisterNativeRoutes(router_, ctx_);
    httpapi::RegisterOpenAiRoutes(router_, ctx_);
    manager_.Start("m");
    auto port = server_.Listen("127.0.0.1", 0);
    if (port.ok()) port_ = *port;
    server_.Run();
  }
  ~Service() {
    server_.Stop(std::chrono::milliseconds(0));
    manager_.Shutdown();
  }
  int port() const { return port_; }

 private:
  static std::shared_ptr<const registry::Registry> MakeRegistry() {
    // The file is never read (TokenBackend), but the registry wants a path.
    auto reg = registry::Registry::Parse(
        "models:\n  - id: m\n    name: m\n    path: /dev/null\n    quant: f16\n    family: llama\n",
        "alloc_test.yaml", "/");
    if (!reg.ok()) ADD_FAILURE() << reg.status().message();
    return std::make_shared<const registry::Registry>(std::move(reg).value());
  }

  TokenBackend backend_;
  std::shared_ptr<const registry::Registry> registry_;
  registry::RegistryStore store_;
  manager::Manager manager_;
  httpapi::Router router_;
  httpapi::Server server_;
  httpapi::ApiContext ctx_;
  int port_ = 0;
};

// Sends `request` on a new connection and reads to EOF into `buf`, which is
// allocated before the count starts (the black-box RawRequest parses as it
// reads, which would be counted). Returns the response's bytes.
size_t Exchange(int port, const std::string& request, std::vector<char>& buf) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::recv(fd, buf.data() + got, buf.size() - got, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  return got;
}

std::string Post(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Connection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Counted {
  uint64_t allocs = 0;
  std::string response;
};

Counted CountStream(int port, const std::string& request) {
  std::vector<char> buf(32 << 20);
  const uint64_t before = bench::CurrentAllocs().allocs;
  const size_t got = Exchange(port, request, buf);
  const uint64_t after = bench::CurrentAllocs().allocs;
  return {after - before, std::string(buf.data(), got)};
}

size_t CountOf(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A stream of `tokens` tokens on `path`: the allocations it made.
uint64_t AllocsFor(int port, const std::string& path, int tokens, std::string_view end) {
  const std::string body =
      path == "/infer"
          ? R"({"model":"m","prompt":"hi","stream":true,"max_tokens":)" + std::to_string(tokens) +
                "}"
          : R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,)"
            R"("max_tokens":)" +
                std::to_string(tokens) + "}";
  const Counted c = CountStream(port, Post(path, body));
  EXPECT_NE(c.response.find(end), std::string::npos) << "the stream did not end";
  // One event per token (TokenModel waits for the consumer), so a per-event
  // cost is a per-token cost here.
  const size_t events = CountOf(c.response, path == "/infer" ? "event: token" : "data: ");
  EXPECT_GE(events, static_cast<size_t>(tokens)) << "tokens were batched";
  return c.allocs;
}

// Per-request work (parsing, the Request, the exchange's buffers, logging)
// is the same for a short and a long stream; buffers that grow by doubling
// may grow a few more times. A per-token or per-event allocation would add
// at least one per extra token (here 3072).
constexpr uint64_t kBufferGrowthSlack = 24;
constexpr int kShort = 1024;
constexpr int kLong = 4096;

void ExpectNothingPerToken(const std::string& path, std::string_view end) {
  Service service;
  ASSERT_GT(service.port(), 0);
  AllocsFor(service.port(), path, kShort, end);  // first use: lazily built state
  const uint64_t short_allocs = AllocsFor(service.port(), path, kShort, end);
  const uint64_t long_allocs = AllocsFor(service.port(), path, kLong, end);
  std::printf("%s: %llu allocations for %d tokens, %llu for %d tokens\n", path.c_str(),
              static_cast<unsigned long long>(short_allocs), kShort,
              static_cast<unsigned long long>(long_allocs), kLong);
  EXPECT_LE(long_allocs, short_allocs + kBufferGrowthSlack)
      << (long_allocs - short_allocs) << " more allocations for " << (kLong - kShort)
      << " more tokens";
}

TEST(StreamingAllocTest, NativeStreamAllocatesNothingPerToken) {
  ExpectNothingPerToken("/infer", "event: done");
}

TEST(StreamingAllocTest, OpenAiStreamAllocatesNothingPerToken) {
  ExpectNothingPerToken("/v1/chat/completions", "[DONE]");
}

}  // namespace
}  // namespace modeld
