#include "internal/httpapi/accept_backoff.h"

#include <algorithm>
#include <cerrno>

#include <boost/asio/error.hpp>

namespace modeld::httpapi {

bool AcceptBackoff::IsTransient(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  switch (ec.value()) {
    case ECONNABORTED:
    case EPROTO:
    case EINTR:
    case EAGAIN:
    case EPERM:  // a firewall rule refused this connection
      return true;
    default:
      return false;
  }
}

AcceptBackoff::Retry AcceptBackoff::OnFailure(const boost::system::error_code& ec,
                                              Clock::time_point now) {
  ++failures_;
  Retry r;
  r.failures = failures_;
  if (IsTransient(ec)) return r;
  delay_ = delay_.count() == 0 ? kFirstDelay : std::min(delay_ * 2, kMaxDelay);
  r.delay = delay_;
  if (!logged_ || now - last_log_ >= kLogInterval) {
    logged_ = true;
    last_log_ = now;
    r.log = true;
  }
  return r;
}

uint64_t AcceptBackoff::OnSuccess() {
  const uint64_t failures = delay_.count() > 0 ? failures_ : 0;
  delay_ = std::chrono::milliseconds(0);
  failures_ = 0;
  logged_ = false;
  return failures;
}

}  // namespace modeld::httpapi
