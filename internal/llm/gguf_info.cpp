#include "internal/llm/gguf_info.h"

#include <gguf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace modeld::llm {
namespace {

struct GgufDeleter {
  void operator()(gguf_context* ctx) const { gguf_free(ctx); }
};

std::string StringValue(const gguf_context* ctx, const char* key) {
  const int64_t id = gguf_find_key(ctx, key);
  if (id < 0 || gguf_get_kv_type(ctx, id) != GGUF_TYPE_STRING) return "";
  return gguf_get_val_str(ctx, id);
}

// general.file_type is a uint32 by convention; other integer types are
// accepted rather than trusted (gguf_get_val_* aborts on a wrong type).
int IntValue(const gguf_context* ctx, const char* key) {
  const int64_t id = gguf_find_key(ctx, key);
  if (id < 0) return -1;
  switch (gguf_get_kv_type(ctx, id)) {
    case GGUF_TYPE_UINT32:
      return static_cast<int>(gguf_get_val_u32(ctx, id));
    case GGUF_TYPE_INT32:
      return gguf_get_val_i32(ctx, id);
    case GGUF_TYPE_UINT16:
      return gguf_get_val_u16(ctx, id);
    case GGUF_TYPE_UINT8:
      return gguf_get_val_u8(ctx, id);
    default:
      return -1;
  }
}

}  // namespace

std::string FileTypeName(int t) {
  // llama_ftype (llama.h); the retired numbers 4-6 and 33-35 are absent.
  static constexpr const char* kNames[] = {
      "f32",    "f16",    "q4_0",  "q4_1",    nullptr,  nullptr,  nullptr,    "q8_0",
      "q5_0",   "q5_1",   "q2_k",  "q3_k_s",  "q3_k_m", "q3_k_l", "q4_k_s",   "q4_k_m",
      "q5_k_s", "q5_k_m", "q6_k",  "iq2_xxs", "iq2_xs", "q2_k_s", "iq3_xs",   "iq3_xxs",
      "iq1_s",  "iq4_nl", "iq3_s", "iq3_m",   "iq2_s",  "iq2_m",  "iq4_xs",   "iq1_m",
      "bf16",   nullptr,  nullptr, nullptr,   "tq1_0",  "tq2_0",  "mxfp4_moe"};
  if (t >= 0 && static_cast<size_t>(t) < std::size(kNames) && kNames[t] != nullptr) {
    return kNames[t];
  }
  return "type" + std::to_string(t);
}

Result<GgufInfo> ReadGgufInfo(const std::string& path) {
  // Opened here first so a missing or unreadable file gets errno's words
  // instead of only ggml's log line.
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::InvalidRequest(path + ": cannot open: " + std::strerror(errno));
  gguf_init_params params{/*no_alloc=*/true, /*ctx=*/nullptr};
  std::unique_ptr<gguf_context, GgufDeleter> ctx(gguf_init_from_file_ptr(file.get(), params));
  if (!ctx) return Status::InvalidRequest(path + ": not a valid GGUF file");
  GgufInfo info;
  info.name = StringValue(ctx.get(), "general.name");
  info.architecture = StringValue(ctx.get(), "general.architecture");
  const int file_type = IntValue(ctx.get(), "general.file_type");
  if (file_type >= 0) info.quant = FileTypeName(file_type);
  return info;
}

}  // namespace modeld::llm
