#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace modeld::httpapi {

// At most this many bytes of a client's value are echoed in a message.
inline constexpr size_t kMaxEchoBytes = 64;

// A value the client sent, quoted for an error message: 'value', or its
// first kMaxEchoBytes (cut at a UTF-8 character boundary) as 'prefix...'
// followed by its length, so a 1 MiB model id does not come back as a 1 MiB
// error body (or log line).
std::string QuoteForMessage(std::string_view value);

}  // namespace modeld::httpapi
