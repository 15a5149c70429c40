#pragma once

#include <string>
#include <string_view>

namespace modeld::httpapi {

// Appends `text` as a quoted JSON string. The input is valid UTF-8 (the
// adapter guarantees it), so only quotes, backslashes and control characters
// need escaping. Allocation-free once `out` has capacity: this runs for every
// streamed batch.
void AppendJsonString(std::string& out, std::string_view text);

// Appends a number with up to 3 decimals, without locale or allocation.
void AppendJsonNumber(std::string& out, double value);

}  // namespace modeld::httpapi
