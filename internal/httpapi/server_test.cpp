#include "internal/httpapi/server.h"

#include <sys/mman.h>
#include <ucontext.h>

#include <gtest/gtest.h>

#include <functional>
#include <future>

#include <boost/asio/post.hpp>

namespace modeld::httpapi {
namespace {

// Runs `fn` on a stack of its own that is unmapped as soon as `fn` returns,
// so a handler that later writes to anything `fn` had on its stack faults.
class DisposableStack {
 public:
  static void Run(const std::function<void()>& fn) {
    constexpr size_t kSize = 512 << 10;
    void* stack =
        ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(stack, MAP_FAILED);
    ucontext_t caller{};
    ucontext_t callee{};
    ::getcontext(&callee);
    callee.uc_stack.ss_sp = stack;
    callee.uc_stack.ss_size = kSize;
    callee.uc_link = &caller;
    current_ = &fn;
    ::makecontext(&callee, &Trampoline, 0);
    ::swapcontext(&caller, &callee);
    ::munmap(stack, kSize);
  }

 private:
  static void Trampoline() { (*current_)(); }
  static inline const std::function<void()>* current_ = nullptr;
};

// StopAccepting used to wait (up to 2 s) for a promise on its own stack that
// the io thread set later: a write into a dead frame when the io thread was busy.
TEST(ServerTest, StopAcceptingWhileTheIoThreadIsBusyLeavesTheCallersStackAlone) {
  Router router;
  Server server(router, Limits{});
  auto port = server.Listen("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().message();
  server.Run();
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  boost::asio::post(server.io(), [&entered, released] {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();
  DisposableStack::Run([&server] { server.StopAccepting(); });
  release.set_value();
  server.Stop(std::chrono::milliseconds(0));

  boost::asio::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(*port)}, ec);
  EXPECT_TRUE(ec) << "still accepting after Stop";
}

}  // namespace
}  // namespace modeld::httpapi
