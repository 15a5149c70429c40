#include "internal/registry/model_dirs.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>

namespace modeld::registry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kExt = ".gguf";

bool ValidIdChars(std::string_view id) {
  if (id.empty()) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

// "-00001-of-00003" at the end of `stem`: 5-digit part and count, as
// llama.cpp's gguf-split names them.
bool SplitSuffix(std::string_view stem, int* part, int* parts) {
  constexpr std::string_view kOf = "-of-";
  constexpr size_t kLen = 1 + 5 + 4 + 5;  // "-NNNNN-of-NNNNN"
  if (stem.size() <= kLen) return false;
  std::string_view tail = stem.substr(stem.size() - kLen);
  if (tail[0] != '-' || tail.substr(6, 4) != kOf) return false;
  auto digits = [](std::string_view s, int* out) {
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    return std::from_chars(s.data(), s.data() + s.size(), *out).ec == std::errc();
  };
  return digits(tail.substr(1, 5), part) && digits(tail.substr(10, 5), parts) && *part >= 1 &&
         *part <= *parts;
}

}  // namespace

std::string ModelIdFromFileName(std::string_view name, int* part, int* parts) {
  *part = 0;
  *parts = 0;
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return "";
  if (name.front() == '.') return "";
  std::string_view stem = name.substr(0, name.size() - kExt.size());
  int p = 0, n = 0;
  if (SplitSuffix(stem, &p, &n)) {
    *part = p;
    *parts = n;
    stem = stem.substr(0, stem.size() - 15);
  }
  return std::string(stem);
}

DirScan ScanModelDirs(const std::vector<std::string>& dirs, const GgufReader& read) {
  DirScan scan;
  std::map<std::string, std::string, std::less<>> seen;  // id -> file that gave it
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::path base = fs::absolute(dir, ec).lexically_normal();
    std::vector<fs::path> files;
    fs::directory_iterator it(base, ec);
    if (ec) {
      scan.error = Status::InvalidRequest("--models-dir " + dir + ": cannot list: " + ec.message());
      return scan;
    }
    for (const fs::directory_entry& e : it) {
      std::error_code fec;
      if (e.is_regular_file(fec)) files.push_back(e.path());  // follows links
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      const std::string name = file.filename().string();
      if (name.rfind("mmproj", 0) == 0) continue;  // a multimodal projector, not a model
      int part = 0, parts = 0;
      const std::string id = ModelIdFromFileName(name, &part, &parts);
      if (id.empty() || part > 1) continue;  // not a model file, or a split model's later part
      const std::string where = file.string();
      if (!ValidIdChars(id)) {
        scan.skipped.push_back(where + ": \"" + id +
                               "\" cannot be a model id; use only letters, digits and . _ : -");
        continue;
      }
      if (auto prev = seen.find(id); prev != seen.end()) {
        scan.skipped.push_back(where + ": id \"" + id + "\" already comes from " + prev->second);
        continue;
      }
      Result<llm::GgufInfo> info = read(where);
      if (!info.ok()) {
        scan.skipped.push_back(info.status().message());
        continue;
      }
      seen.emplace(id, where);
      ModelEntry m;
      m.id = id;
      m.name = info->name.empty() ? id : info->name;
      m.family = info->architecture.empty() ? "unknown" : info->architecture;
      m.quant = info->quant.empty() ? "unknown" : info->quant;
      m.path = where;
      m.exists = true;
      m.parallel = 0;
      scan.models.push_back(std::move(m));
    }
  }
  return scan;
}

}  // namespace modeld::registry
