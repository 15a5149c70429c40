#include "cmd/modeld-mkmodel/gguf_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "ggml.h"
#include "gguf.h"

namespace modeld::mkmodel {
namespace {

namespace fs = std::filesystem;

class GgufWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mkmodel-writer-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

struct Read {
  gguf_context* gguf = nullptr;
  ggml_context* data = nullptr;
  ~Read() {
    if (gguf) gguf_free(gguf);
    if (data) ggml_free(data);
  }
};

// A small quantizable shape so the test stays fast.
ModelSpec SmallSpec(WeightType type, uint64_t seed) {
  ModelSpec spec;
  spec.shape = PresetShape("tiny").value();
  spec.shape.n_vocab = 1024;
  spec.shape.n_layer = 2;
  spec.shape.type = type;
  spec.name = "unit";
  spec.seed = seed;
  return spec;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(GgufWriterTest, MetadataAndTensorsReadBack) {
  ModelSpec spec = SmallSpec(WeightType::kQ8_0, 3);
  const std::string path = File("q8.gguf");
  Result<WriteSummary> r = WriteModel(spec, path, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->bytes, fs::file_size(path));
  EXPECT_EQ(r->params, ParamCount(spec.shape));

  Read rd;
  rd.gguf = gguf_init_from_file(path.c_str(), {false, &rd.data});
  ASSERT_NE(rd.gguf, nullptr);
  auto str = [&](const char* k) {
    const int64_t id = gguf_find_key(rd.gguf, k);
    return id < 0 ? std::string("<missing>") : std::string(gguf_get_val_str(rd.gguf, id));
  };
  auto u32 = [&](const char* k) {
    const int64_t id = gguf_find_key(rd.gguf, k);
    return id < 0 ? 0xFFFFFFFFu : gguf_get_val_u32(rd.gguf, id);
  };
  EXPECT_EQ(str("general.architecture"), "llama");
  EXPECT_EQ(str("general.name"), "unit");
  EXPECT_EQ(str("tokenizer.ggml.model"), "llama");
  EXPECT_NE(str("tokenizer.chat_template").find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(u32("general.file_type"), 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(u32("llama.embedding_length"), static_cast<uint32_t>(spec.shape.n_embd));
  EXPECT_EQ(u32("llama.block_count"), 2u);
  EXPECT_EQ(u32("llama.attention.head_count_kv"), static_cast<uint32_t>(spec.shape.n_head_kv));
  EXPECT_EQ(u32("llama.rope.dimension_count"), static_cast<uint32_t>(spec.shape.head_dim()));
  EXPECT_EQ(u32("llama.vocab_size"), 1024u);
  EXPECT_EQ(gguf_get_arr_n(rd.gguf, gguf_find_key(rd.gguf, "tokenizer.ggml.tokens")), 1024u);

  const std::vector<TensorDesc> list = TensorList(spec.shape);
  ASSERT_EQ(gguf_get_n_tensors(rd.gguf), static_cast<int64_t>(list.size()));
  const Vocab vocab = BuildVocab(1024).value();
  for (const TensorDesc& t : list) {
    ggml_tensor* tt = ggml_get_tensor(rd.data, t.name.c_str());
    ASSERT_NE(tt, nullptr) << t.name;
    EXPECT_EQ(tt->type, t.is_norm() ? GGML_TYPE_F32 : GGML_TYPE_Q8_0) << t.name;
    EXPECT_EQ(tt->ne[0], t.ne0);
    EXPECT_EQ(tt->ne[1], t.ne1);
    // The stored data dequantizes to what the generator produced.
    std::vector<float> want(static_cast<size_t>(t.ne0 * t.ne1));
    FillRows(t, spec, vocab, 0, t.ne1, want.data());
    std::vector<float> got(want.size());
    if (tt->type == GGML_TYPE_F32) {
      std::memcpy(got.data(), tt->data, got.size() * sizeof(float));
    } else {
      ggml_get_type_traits(tt->type)->to_float(tt->data, got.data(), ggml_nelements(tt));
    }
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 0.002f) << t.name << "[" << i << "]";
    }
  }
}

TEST_F(GgufWriterTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const ModelSpec a = SmallSpec(WeightType::kQ4_0, 9);
  ASSERT_TRUE(WriteModel(a, File("a1.gguf"), 1).ok());
  ASSERT_TRUE(WriteModel(a, File("a2.gguf"), 2).ok());
  ASSERT_TRUE(WriteModel(SmallSpec(WeightType::kQ4_0, 10), File("b.gguf"), 2).ok());
  const std::string a1 = Slurp(File("a1.gguf"));
  EXPECT_FALSE(a1.empty());
  EXPECT_EQ(a1, Slurp(File("a2.gguf")));
  EXPECT_NE(a1, Slurp(File("b.gguf")));
}

TEST_F(GgufWriterTest, WeightTypeSetsTensorTypesAndSize) {
  std::vector<uint64_t> sizes;
  for (WeightType t : {WeightType::kF16, WeightType::kQ8_0, WeightType::kQ4_0}) {
    const std::string path = File(std::string(WeightTypeName(t)) + ".gguf");
    Result<WriteSummary> r = WriteModel(SmallSpec(t, 1), path);
    ASSERT_TRUE(r.ok()) << r.status().message();
    sizes.push_back(r->bytes);
    Read rd;
    rd.gguf = gguf_init_from_file(path.c_str(), {true, nullptr});
    ASSERT_NE(rd.gguf, nullptr);
    const ggml_type want = t == WeightType::kF16    ? GGML_TYPE_F16
                           : t == WeightType::kQ8_0 ? GGML_TYPE_Q8_0
                                                    : GGML_TYPE_Q4_0;
    EXPECT_EQ(gguf_get_tensor_type(rd.gguf, gguf_find_tensor(rd.gguf, "blk.1.ffn_up.weight")),
              want);
    EXPECT_EQ(gguf_get_tensor_type(rd.gguf, gguf_find_tensor(rd.gguf, "output_norm.weight")),
              GGML_TYPE_F32);
  }
  EXPECT_GT(sizes[0], sizes[1]);  // f16 > q8_0 > q4_0
  EXPECT_GT(sizes[1], sizes[2]);
}

TEST_F(GgufWriterTest, InvalidShapeWritesNothing) {
  ModelSpec spec = SmallSpec(WeightType::kQ4_0, 1);
  spec.shape.n_embd = 48;  // not a multiple of the q4_0 block
  const std::string path = File("bad.gguf");
  Result<WriteSummary> r = WriteModel(spec, path);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(GgufWriterTest, UnwritablePathIsAnError) {
  Result<WriteSummary> r = WriteModel(SmallSpec(WeightType::kF16, 1), File("no/such/dir/x.gguf"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no/such/dir"), std::string::npos);
}

}  // namespace
}  // namespace modeld::mkmodel
