#include "internal/llm/gguf_info.h"

#include <gtest/gtest.h>

#include <fstream>

#include "internal/llm/llama_test_util.h"

namespace modeld::llm {
namespace {

TEST(GgufInfoTest, ReadsNameArchitectureAndQuantFromTheHeader) {
  const std::string path = testutil::TinyModelPath();
  ASSERT_FALSE(path.empty());
  Result<GgufInfo> info = ReadGgufInfo(path);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->architecture, "llama");
  EXPECT_FALSE(info->name.empty());
  EXPECT_EQ(info->quant, "f16");  // the tiny model's weights are f16
}

TEST(GgufInfoTest, AMissingFieldIsEmpty) {
  const std::string in = testutil::TinyModelPath();
  const std::string out = testutil::TempDir() + "/no-file-type.gguf";
  ASSERT_TRUE(testutil::CopyGgufWithoutKey(in, out, "general.file_type"));
  Result<GgufInfo> info = ReadGgufInfo(out);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->quant, "");
  EXPECT_EQ(info->architecture, "llama");
}

TEST(GgufInfoTest, MissingAndInvalidFilesAreErrorsNamingThem) {
  Result<GgufInfo> missing = ReadGgufInfo("/nonexistent/x.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/x.gguf"), std::string::npos);
  const std::string bad = testutil::TempDir() + "/bad.gguf";
  std::ofstream(bad) << "not a gguf file at all";
  Result<GgufInfo> invalid = ReadGgufInfo(bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("not a valid GGUF"), std::string::npos)
      << invalid.status().message();
}

TEST(GgufInfoTest, FileTypeNames) {
  EXPECT_EQ(FileTypeName(0), "f32");
  EXPECT_EQ(FileTypeName(1), "f16");
  EXPECT_EQ(FileTypeName(2), "q4_0");
  EXPECT_EQ(FileTypeName(7), "q8_0");
  EXPECT_EQ(FileTypeName(15), "q4_k_m");
  EXPECT_EQ(FileTypeName(32), "bf16");
  EXPECT_EQ(FileTypeName(4), "type4");  // retired
  EXPECT_EQ(FileTypeName(999), "type999");
}

}  // namespace
}  // namespace modeld::llm
