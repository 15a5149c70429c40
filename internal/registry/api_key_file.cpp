#include "internal/registry/api_key_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace modeld::registry {
namespace {

constexpr size_t kMaxKeyBytes = 256;

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

std::string ApiKeyProblem(std::string_view key) {
  if (key.empty()) return "an API key must not be empty";
  if (key.size() > kMaxKeyBytes) {
    return "an API key must be at most " + std::to_string(kMaxKeyBytes) + " characters";
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return "an API key may hold only visible ASCII characters (no spaces)";
    }
  }
  return "";
}

Result<std::vector<std::string>> ParseApiKeyFile(std::string_view text,
                                                 const std::string& file_name) {
  std::vector<std::string> keys;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t end = text.find('\n');
    const std::string_view line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    if (std::string problem = ApiKeyProblem(line); !problem.empty()) {
      std::string message = file_name;
      message.append(":").append(std::to_string(line_no)).append(": ").append(problem);
      return Status::InvalidRequest(std::move(message));
    }
    keys.emplace_back(line);
  }
  if (keys.empty()) {
    return Status::InvalidRequest(file_name +
                                  ": no API key in the file (one key per line; '#' starts a "
                                  "comment)");
  }
  return keys;
}

Result<std::vector<std::string>> LoadApiKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidRequest(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidRequest(path + ": cannot read: " + std::strerror(errno));
  return ParseApiKeyFile(text.str(), path);
}

}  // namespace modeld::registry
