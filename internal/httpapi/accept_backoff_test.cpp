#include "internal/httpapi/accept_backoff.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace modeld::httpapi {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

boost::system::error_code Errno(int e) { return {e, boost::system::system_category()}; }

TEST(AcceptBackoffTest, OutOfDescriptorsBacksOffAndLogsOncePerPause) {
  AcceptBackoff b;
  const auto t0 = AcceptBackoff::Clock::time_point{} + seconds(1000);
  auto r = b.OnFailure(Errno(EMFILE), t0);
  EXPECT_EQ(r.delay, milliseconds(10));
  EXPECT_TRUE(r.log);
  int logs = 0;
  milliseconds last{};
  for (int i = 0; i < 100; ++i) {
    r = b.OnFailure(Errno(i % 2 ? EMFILE : ENFILE), t0 + milliseconds(i));
    logs += r.log ? 1 : 0;
    EXPECT_GE(r.delay, last);
    last = r.delay;
  }
  EXPECT_EQ(logs, 0);
  EXPECT_EQ(last, AcceptBackoff::kMaxDelay);
  // A long pause logs again once a minute.
  EXPECT_TRUE(b.OnFailure(Errno(EMFILE), t0 + seconds(61)).log);
  EXPECT_FALSE(b.OnFailure(Errno(EMFILE), t0 + seconds(62)).log);
  EXPECT_EQ(b.OnSuccess(), 103u);
  EXPECT_EQ(b.OnSuccess(), 0u);
  // The next pause starts over: short delay, one line.
  r = b.OnFailure(Errno(ENOBUFS), t0 + seconds(63));
  EXPECT_EQ(r.delay, milliseconds(10));
  EXPECT_TRUE(r.log);
}

TEST(AcceptBackoffTest, AFailureOfOneConnectionRetriesAtOnceWithoutALine) {
  AcceptBackoff b;
  const auto now = AcceptBackoff::Clock::now();
  for (int e : {ECONNABORTED, EPROTO, EINTR}) {
    auto r = b.OnFailure(Errno(e), now);
    EXPECT_EQ(r.delay, milliseconds(0)) << e;
    EXPECT_FALSE(r.log) << e;
  }
  EXPECT_EQ(b.OnSuccess(), 0u);
}

}  // namespace
}  // namespace modeld::httpapi
