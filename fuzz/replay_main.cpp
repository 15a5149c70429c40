// Replays fuzz corpora without libFuzzer: every file given, or found under a
// folder given, is fed once to the named target. Built with the normal
// toolchain, so CTest checks on every `make test` that the committed corpora
// (seeds and the inputs of past findings) still pass.
//
//   modeld_fuzz_replay <target> <file or folder>...
//
// fuzz/CMakeLists.txt compiles each <name>_fuzzer.cpp with
// LLVMFuzzerTestOneInput renamed to modeld_fuzz_<name>, so all targets share
// this one binary.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#define MODELD_FUZZ_TARGETS(X) \
  X(http_router)               \
  X(infer_request)             \
  X(openai_request)            \
  X(registry_yaml)             \
  X(stop_matcher)              \
  X(utf8_stream)               \
  X(chat_template)             \
  X(gbnf_syntax)

#define MODELD_DECLARE_TARGET(name) \
  extern "C" int modeld_fuzz_##name(const uint8_t* data, size_t size);
MODELD_FUZZ_TARGETS(MODELD_DECLARE_TARGET)

namespace {

namespace fs = std::filesystem;
using TargetFn = int (*)(const uint8_t*, size_t);

struct Target {
  std::string_view name;
  TargetFn fn;
};

#define MODELD_TARGET_ENTRY(name) Target{#name, &modeld_fuzz_##name},
constexpr Target kTargets[] = {MODELD_FUZZ_TARGETS(MODELD_TARGET_ENTRY)};

bool ReadFile(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <target> <file or folder>...\n", argv[0]);
    return 2;
  }
  const std::string_view name = argv[1];
  const auto* target = std::find_if(std::begin(kTargets), std::end(kTargets),
                                    [&](const Target& t) { return t.name == name; });
  if (target == std::end(kTargets)) {
    std::fprintf(stderr, "unknown fuzz target '%s'\n", argv[1]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(argv[i])) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());  // a stable order for reproducible runs
  if (files.empty()) {
    std::fprintf(stderr, "no inputs for '%s'\n", argv[1]);
    return 1;  // an empty corpus is a mistake, not a pass
  }
  std::string bytes;
  for (const auto& path : files) {
    if (!ReadFile(path, bytes)) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    target->fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: %zu inputs passed\n", argv[1], files.size());
  return 0;
}
