#include "internal/registry/load_specs.h"

#include <gtest/gtest.h>

namespace modeld::registry {
namespace {

TEST(LoadSpecsTest, EveryEntryBecomesASpecWithItsLoadFields) {
  Result<Registry> r = Registry::Parse(
      "parallel: 2\nmodels:\n"
      "  - {id: a, name: A, path: /m/a.gguf, quant: f16, family: l}\n"
      "  - {id: b, name: B, path: /m/b.gguf, quant: q4_0, family: l, ctx_size: 512, threads: 3,\n"
      "     n_gpu_layers: 7, parallel: 8, chat_template: chatml, repack: false,\n"
      "     special_in_content: true, pooling: last}\n",
      "cfg.yaml", "/");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::vector<llm::LoadSpec> specs = LoadSpecs(*r);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].id, "a");
  EXPECT_EQ(specs[0].path, "/m/a.gguf");
  EXPECT_EQ(specs[0].ctx_size, 4096);
  EXPECT_EQ(specs[0].parallel, 2);
  EXPECT_TRUE(specs[0].repack);
  EXPECT_FALSE(specs[0].special_in_content);
  EXPECT_EQ(specs[0].pooling, llm::Pooling::kDefault);
  const llm::LoadSpec& b = specs[1];
  EXPECT_EQ(b.ctx_size, 512);
  EXPECT_EQ(b.threads, 3);
  EXPECT_EQ(b.n_gpu_layers, 7);
  EXPECT_EQ(b.parallel, 8);
  EXPECT_EQ(b.chat_template, "chatml");
  EXPECT_FALSE(b.repack);
  EXPECT_TRUE(b.special_in_content);
  EXPECT_EQ(b.pooling, llm::Pooling::kLast);
}

}  // namespace
}  // namespace modeld::registry
