#pragma once

// A GGUF file's descriptive metadata, read from its header without loading
// any tensor (llama.cpp's gguf reader with no_alloc). For --models-dir and
// --check-config; the manager never includes llama.cpp headers, so this
// seam keeps them here.

#include <string>

#include "pkg/types/status.h"

namespace modeld::llm {

struct GgufInfo {
  std::string name;          // general.name, empty when absent
  std::string architecture;  // general.architecture, e.g. "llama"
  std::string quant;         // from general.file_type, e.g. "q8_0"; empty when absent
};

// Reads `path`'s header. InvalidRequest naming the file when it cannot be
// opened or is not a valid GGUF file. Thread-safe (no shared state).
Result<GgufInfo> ReadGgufInfo(const std::string& path);

// llama.cpp's file type number (general.file_type) as a short lower-case
// name ("f16", "q4_k_m"); "type<N>" for a number it does not know.
std::string FileTypeName(int file_type);

}  // namespace modeld::llm
