#pragma once

#include <chrono>
#include <cstdint>

#include <boost/system/error_code.hpp>

namespace modeld::httpapi {

// What the accept loop does when accept() fails. Out of file descriptors
// (EMFILE, ENFILE) or memory, the pending connection stays in the backlog
// and an immediate retry fails again at once: a busy loop that also floods
// the log. So such failures pause accepting, 10 ms doubling to 1 s, and log
// once when the pause starts and at most once a minute while it lasts.
// Thread-safety: none; the io thread owns it.
class AcceptBackoff {
 public:
  using Clock = std::chrono::steady_clock;

  struct Retry {
    std::chrono::milliseconds delay{0};  // 0: retry at once
    bool log = false;                    // write the "accept paused" line now
    uint64_t failures = 0;               // failures since the last success
  };

  static constexpr std::chrono::milliseconds kFirstDelay{10};
  static constexpr std::chrono::milliseconds kMaxDelay{1000};
  static constexpr std::chrono::seconds kLogInterval{60};

  // A failure of one connection only (it was reset before accept, ...):
  // retrying at once is right.
  static bool IsTransient(const boost::system::error_code& ec);

  Retry OnFailure(const boost::system::error_code& ec, Clock::time_point now);
  // Returns the failures of the pause that this success ends (0: none).
  uint64_t OnSuccess();

 private:
  std::chrono::milliseconds delay_{0};
  uint64_t failures_ = 0;
  bool logged_ = false;
  Clock::time_point last_log_{};
};

}  // namespace modeld::httpapi
