#pragma once

// API keys for bearer authentication: the checks every key passes, and the
// --api-key-file format. Stateless functions; safe from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "pkg/types/status.h"

namespace modeld::registry {

// A key is 1..256 visible ASCII characters (no spaces or control
// characters), so it fits an `Authorization: Bearer <key>` header as is.
// Empty when `key` is acceptable, else what is wrong with it (never the key).
std::string ApiKeyProblem(std::string_view key);

// Parses a key file: one key per line. Leading and trailing whitespace
// (including a CRLF's CR) is ignored, blank lines are skipped and a line
// whose first visible character is '#' is a comment (so no key starts with
// '#'). A file without any key is an error: someone asked for
// authentication. Errors read "file:line: problem" and never quote a key.
Result<std::vector<std::string>> ParseApiKeyFile(std::string_view text,
                                                 const std::string& file_name);

// Reads and parses `path`.
Result<std::vector<std::string>> LoadApiKeyFile(const std::string& path);

}  // namespace modeld::registry
