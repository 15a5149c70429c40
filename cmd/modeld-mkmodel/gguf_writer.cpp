#include "cmd/modeld-mkmodel/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "ggml.h"
#include "gguf.h"

namespace modeld::mkmodel {
namespace {

// llama.cpp's llama_ftype values for general.file_type.
constexpr uint32_t kFtypeF16 = 1, kFtypeQ4_0 = 2, kFtypeQ8_0 = 7;

ggml_type MatrixType(WeightType t) {
  switch (t) {
    case WeightType::kF16:
      return GGML_TYPE_F16;
    case WeightType::kQ8_0:
      return GGML_TYPE_Q8_0;
    case WeightType::kQ4_0:
      return GGML_TYPE_Q4_0;
  }
  return GGML_TYPE_F16;
}

uint32_t FileType(WeightType t) {
  switch (t) {
    case WeightType::kF16:
      return kFtypeF16;
    case WeightType::kQ8_0:
      return kFtypeQ8_0;
    case WeightType::kQ4_0:
      return kFtypeQ4_0;
  }
  return kFtypeF16;
}

struct GgufFree {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlFree {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

void SetMetadata(gguf_context* g, const ModelSpec& spec, const Vocab& v) {
  const Shape& s = spec.shape;
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", spec.name.c_str());
  gguf_set_val_u32(g, "general.file_type", FileType(s.type));
  gguf_set_val_u32(g, "general.quantization_version", GGML_QNT_VERSION);
  // Provenance, for whoever inspects a file later.
  gguf_set_val_u64(g, "modeld.mkmodel.seed", spec.seed);
  gguf_set_val_str(g, "modeld.mkmodel.eog", std::string(EogModeName(spec.eog)).c_str());

  gguf_set_val_u32(g, "llama.vocab_size", static_cast<uint32_t>(s.n_vocab));
  gguf_set_val_u32(g, "llama.context_length", static_cast<uint32_t>(s.n_ctx));
  gguf_set_val_u32(g, "llama.embedding_length", static_cast<uint32_t>(s.n_embd));
  gguf_set_val_u32(g, "llama.block_count", static_cast<uint32_t>(s.n_layer));
  gguf_set_val_u32(g, "llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
  gguf_set_val_u32(g, "llama.attention.head_count", static_cast<uint32_t>(s.n_head));
  gguf_set_val_u32(g, "llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  gguf_set_val_u32(g, "llama.rope.dimension_count", static_cast<uint32_t>(s.head_dim()));
  gguf_set_val_f32(g, "llama.rope.freq_base", s.rope_freq_base);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", s.rms_eps);
  if (spec.pooling_type >= 0) {
    gguf_set_val_u32(g, "llama.pooling_type", static_cast<uint32_t>(spec.pooling_type));
  }

  std::vector<const char*> pieces;
  pieces.reserve(v.pieces.size());
  for (const auto& p : v.pieces) {
    pieces.push_back(p.c_str());
  }
  std::vector<int32_t> types;
  types.reserve(v.types.size());
  for (TokenType t : v.types) {
    types.push_back(static_cast<int32_t>(t));
  }
  gguf_set_val_str(g, "tokenizer.ggml.model", "llama");
  gguf_set_arr_str(g, "tokenizer.ggml.tokens", pieces.data(), pieces.size());
  gguf_set_arr_data(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v.scores.data(),
                    v.scores.size());
  gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
  gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos_id));
  gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos_id));
  gguf_set_val_u32(g, "tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(v.unk_id));
  gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", true);
  gguf_set_val_bool(g, "tokenizer.ggml.add_eos_token", false);
  gguf_set_val_str(g, "tokenizer.chat_template", ChatMlTemplate());
}

// Runs fn(begin, end) over [0, n) split into contiguous ranges, one per thread.
template <typename Fn>
void ParallelFor(int64_t n, int threads, Fn fn) {
  const int64_t k = std::max<int64_t>(1, std::min<int64_t>(threads, n / 64));
  if (k == 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  for (int64_t i = 0; i < k; ++i) {
    pool.emplace_back(fn, n * i / k, n * (i + 1) / k);
  }
  for (auto& t : pool) {
    t.join();
  }
}

// Generates tensor t and converts it to type into out (ggml_nbytes bytes).
void Produce(const TensorDesc& t, ggml_type type, const ModelSpec& spec, const Vocab& vocab,
             int threads, std::vector<float>& f32, std::vector<uint8_t>& out) {
  f32.resize(static_cast<size_t>(t.ne0 * t.ne1));
  const size_t row_bytes = ggml_row_size(type, t.ne0);
  out.resize(row_bytes * static_cast<size_t>(t.ne1));
  ParallelFor(t.ne1, threads, [&](int64_t r0, int64_t r1) {
    float* src = f32.data() + r0 * t.ne0;
    FillRows(t, spec, vocab, r0, r1, src);
    uint8_t* dst = out.data() + r0 * row_bytes;
    if (type == GGML_TYPE_F32) {
      std::memcpy(dst, src, (r1 - r0) * row_bytes);
    } else if (type == GGML_TYPE_F16) {
      ggml_fp32_to_fp16_row(src, reinterpret_cast<ggml_fp16_t*>(dst), (r1 - r0) * t.ne0);
    } else {
      // Quantize this slice as its own chunk starting at row 0.
      ggml_quantize_chunk(type, src, dst, 0, r1 - r0, t.ne0, nullptr);
    }
  });
}

Status WriteAll(FILE* f, const void* data, size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) {
    return Status::Internal("writing " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<WriteSummary> WriteFile(const ModelSpec& spec, const Vocab& vocab, const std::string& path,
                               int threads) {
  const std::vector<TensorDesc> tensors = TensorList(spec.shape);
  const ggml_type mtype = MatrixType(spec.shape.type);

  std::unique_ptr<gguf_context, GgufFree> g(gguf_init_empty());
  SetMetadata(g.get(), spec, vocab);

  // Tensor descriptors only (no_alloc): gguf needs their names, types, shapes.
  ggml_init_params params{tensors.size() * ggml_tensor_overhead(), nullptr, true};
  std::unique_ptr<ggml_context, GgmlFree> meta(ggml_init(params));
  if (!meta) {
    return Status::Internal("ggml_init failed");
  }
  for (const TensorDesc& t : tensors) {
    ggml_tensor* tt = t.is_norm() ? ggml_new_tensor_1d(meta.get(), GGML_TYPE_F32, t.ne0)
                                  : ggml_new_tensor_2d(meta.get(), mtype, t.ne0, t.ne1);
    ggml_set_name(tt, t.name.c_str());
    gguf_add_tensor(g.get(), tt);
  }

  std::unique_ptr<FILE, FileClose> f(std::fopen(path.c_str(), "wb"));
  if (!f) {
    return Status::Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  if (!gguf_write_to_file_ptr(g.get(), f.get(), /*only_meta=*/true)) {
    return Status::Internal("writing GGUF metadata to " + path + " failed");
  }
  const size_t align = gguf_get_alignment(g.get());
  const std::vector<uint8_t> zeros(align, 0);
  if (mtype != GGML_TYPE_F16) {
    ggml_quantize_init(mtype);
  }

  std::vector<float> f32;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorDesc& t = tensors[i];
    Produce(t, t.is_norm() ? GGML_TYPE_F32 : mtype, spec, vocab, threads, f32, out);
    if (out.size() != gguf_get_tensor_size(g.get(), static_cast<int64_t>(i))) {
      return Status::Internal("size mismatch for tensor " + t.name);
    }
    const size_t pad = GGML_PAD(out.size(), align) - out.size();
    Status st = WriteAll(f.get(), out.data(), out.size(), path);
    if (st.ok()) {
      st = WriteAll(f.get(), zeros.data(), pad, path);
    }
    if (!st.ok()) {
      return st;
    }
  }
  if (std::fflush(f.get()) != 0) {
    return Status::Internal("writing " + path + ": " + std::strerror(errno));
  }
  WriteSummary summary;
  summary.params = ParamCount(spec.shape);
  summary.bytes = static_cast<uint64_t>(std::ftell(f.get()));
  summary.n_tensors = static_cast<int>(tensors.size());
  // Check the layout we appended against what the header promises.
  const int64_t last = static_cast<int64_t>(tensors.size()) - 1;
  const uint64_t expected = gguf_get_meta_size(g.get()) + gguf_get_tensor_offset(g.get(), last) +
                            GGML_PAD(gguf_get_tensor_size(g.get(), last), align);
  if (summary.bytes != expected) {
    return Status::Internal("GGUF layout mismatch in " + path);
  }
  if (std::fclose(f.release()) != 0) {
    return Status::Internal("closing " + path + ": " + std::strerror(errno));
  }
  return summary;
}

}  // namespace

Result<WriteSummary> WriteModel(const ModelSpec& spec, const std::string& path, int threads) {
  if (Status st = ValidateShape(spec.shape); !st.ok()) {
    return st;
  }
  Result<Vocab> vocab = BuildVocab(spec.shape.n_vocab);
  if (!vocab.ok()) {
    return vocab.status();
  }
  if (threads <= 0) {
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  Result<WriteSummary> r = WriteFile(spec, *vocab, path, threads);
  if (!r.ok()) {
    std::remove(path.c_str());
  }
  return r;
}

}  // namespace modeld::mkmodel
