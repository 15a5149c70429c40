#pragma once

// --models-dir: every *.gguf file in a folder becomes a registry entry, as
// with llama-server's router. Ids come from file names, the rest from the
// GGUF header (read without loading tensors).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "internal/llm/gguf_info.h"
#include "internal/registry/registry.h"
#include "pkg/types/status.h"

namespace modeld::registry {

// Reads a file's GGUF header; llm::ReadGgufInfo in the product, a fake in tests.
using GgufReader = std::function<Result<llm::GgufInfo>(const std::string& path)>;

struct DirScan {
  Status error;                      // a folder that cannot be listed; nothing else is valid then
  std::vector<ModelEntry> models;    // sorted by file name within each folder, folders in order
  std::vector<std::string> skipped;  // one line per file left out, and why
};

// The id a file name gives, or empty when the file is no model entry:
//   "llama-8b.Q4_K_M.gguf"         -> "llama-8b.Q4_K_M"
//   "big-00001-of-00003.gguf"      -> "big" (*part = 1, *parts = 3)
//   "big-00002-of-00003.gguf"      -> "big" (*part = 2: a later part, not an entry)
//   "notes.txt", ".hidden.gguf"    -> ""
// `part` and `parts` are 0 for a file that is not split.
std::string ModelIdFromFileName(std::string_view file_name, int* part, int* parts);

// Scans `dirs` in order. Only regular files (or links to them) whose names
// end in ".gguf" count; names starting with "mmproj" (multimodal
// projectors) are no models and are left out silently, as are a split
// model's later parts. A file whose id is not valid, whose header cannot be
// read, or whose id an earlier folder already gave is left out and listed
// in `skipped`. Entries: id from the file name; name, family and quant
// from general.name, general.architecture and general.file_type (the id,
// "unknown", "unknown" when absent); other fields default. `parallel` is 0
// (Registry::WithModels fills in the top-level default).
DirScan ScanModelDirs(const std::vector<std::string>& dirs, const GgufReader& read);

}  // namespace modeld::registry
