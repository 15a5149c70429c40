// Fuzz target: the bytes a client sends on one connection, through the real
// Connection (Beast's request parser, limits, pipelining), the Router and
// every route main() registers, in process and single-threaded.
//
// The input goes into one end of a socket pair, followed by a half-close;
// the other end is the server's socket. The manager has the registry's
// catalog but no worker and no backend: a valid /infer or OpenAI request is
// queued, then cancelled when the half-close reads as a disconnect, so the
// streaming exchange runs too without any model. The response bytes are
// drained and must start like an HTTP response.

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "fuzz/fuzz_support.h"
#include "internal/httpapi/connection.h"
#include "internal/httpapi/embeddings_api.h"
#include "internal/httpapi/metrics.h"
#include "internal/httpapi/native_api.h"
#include "internal/httpapi/openai_api.h"
#include "internal/httpapi/router.h"
#include "internal/log/log.h"
#include "internal/manager/manager.h"
#include "internal/registry/load_specs.h"
#include "internal/registry/registry.h"
#include "internal/registry/registry_store.h"

namespace {

namespace asio = boost::asio;
using modeld::fuzz::Check;
using namespace modeld;  // NOLINT: a test driver wiring many layers

constexpr std::string_view kRegistry = R"(max_queue: 4
models:
  - id: tiny
    name: Tiny
    path: tiny.gguf
    quant: f16
    family: llama
    ctx_size: 512
  - id: small
    name: Small
    path: small.gguf
    quant: q8_0
    family: llama
    chat_template: chatml
)";

// Never asked to load: the manager's worker is not started.
class NoBackend final : public llm::Backend {
 public:
  Result<llm::ModelPtr> Load(const llm::LoadSpec&, llm::LoadControl&) override {
    return Status::LoadFailed("the fuzzer has no backend");
  }
};

const registry::Registry& TheRegistry() {
  static const registry::Registry reg = [] {
    auto r = registry::Registry::Parse(kRegistry, "fuzz.yaml", "/nonexistent-modeld-fuzz");
    Check(r.ok(), "the fuzzer's registry parses");
    return std::move(r).value();
  }();
  return reg;
}

// The client's end: reads until the server closes, keeping the first bytes.
class Client {
 public:
  Client(asio::io_context& io, int fd) : stream_(io, fd) {}
  void Read() {
    stream_.async_read_some(asio::buffer(chunk_), [this](boost::system::error_code ec, size_t n) {
      if (seen_.size() < 16) seen_.append(chunk_, std::min(n, 16 - seen_.size()));
      if (!ec) Read();
    });
  }
  const std::string& seen() const { return seen_; }

 private:
  asio::posix::stream_descriptor stream_;
  char chunk_[4096];
  std::string seen_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Request lines go to a string, not stderr: logging them (invalid UTF-8
  // in paths included) stays part of what is fuzzed.
  static std::string log_sink;
  log::SetSinkForTest(&log_sink);
  log_sink.clear();
  const registry::Registry& reg = TheRegistry();

  int fds[2];
  Check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
  // Whatever fits into the socket's buffer without blocking is sent.
  for (size_t off = 0; off < size;) {
    const ssize_t n = ::send(fds[0], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::shutdown(fds[0], SHUT_WR);

  // Declared first, destroyed last: handlers still queued on `io` hold
  // connections that refer to the router and limits below.
  asio::io_context io;
  httpapi::Metrics metrics;
  NoBackend backend;
  manager::Manager mgr(backend, registry::LoadSpecs(reg),
                       {static_cast<size_t>(reg.max_queue()), ""}, &metrics);
  static const registry::RegistryStore store(std::make_shared<const registry::Registry>(reg));
  httpapi::ApiContext ctx{mgr, store, io.get_executor(), httpapi::ClientPaths(), ""};
  httpapi::Router router;
  httpapi::RegisterNativeRoutes(router, ctx);
  httpapi::RegisterOpenAiRoutes(router, ctx);
  httpapi::RegisterEmbeddingsRoutes(router, ctx);
  httpapi::RegisterMetricsRoute(router, metrics);
  router.SetObserver(&metrics);
  httpapi::Limits limits;
  limits.max_body_bytes = 8192;  // small enough for inputs to reach it
  limits.max_header_bytes = 4096;

  Client client(io, fds[0]);
  client.Read();
  httpapi::tcp::socket socket(io);
  socket.assign(httpapi::tcp::v4(), fds[1]);  // a stream socket is all Connection needs
  std::make_shared<httpapi::Connection>(std::move(socket), router, limits,
                                        std::make_shared<httpapi::ConnectionCounters>())
      ->Start();
  io.run();
  // As at SIGTERM: queued requests end with shutting_down, then the io
  // thread finishes what that posted.
  mgr.Shutdown();
  io.restart();
  io.run();

  const std::string& seen = client.seen();
  Check(seen.empty() || seen.starts_with("HTTP/1."), "the server answers with HTTP");
  return 0;
}
