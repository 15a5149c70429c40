#include "internal/llm/pooling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace modeld::llm {
namespace {

std::vector<float> Pool(Pooling p, const std::vector<std::vector<float>>& rows) {
  EmbeddingPool pool;
  pool.Reset(p, static_cast<int>(rows.front().size()));
  for (const auto& r : rows) pool.Add(r.data());
  std::vector<float> out(rows.front().size());
  pool.Finish(out);
  return out;
}

TEST(PoolingTest, MeanClsAndLastAreNormalized) {
  const std::vector<std::vector<float>> rows = {{3, 0}, {0, 4}, {1, 1}};
  const std::vector<float> mean = Pool(Pooling::kMean, rows);  // (4/3, 5/3)
  const float len = std::sqrt(16.0f + 25.0f);
  EXPECT_NEAR(mean[0], 4 / len, 1e-6);
  EXPECT_NEAR(mean[1], 5 / len, 1e-6);
  EXPECT_EQ(Pool(Pooling::kCls, rows), (std::vector<float>{1, 0}));
  const std::vector<float> last = Pool(Pooling::kLast, rows);
  EXPECT_NEAR(last[0], 1 / std::sqrt(2.0f), 1e-6);
  EXPECT_NEAR(last[1], 1 / std::sqrt(2.0f), 1e-6);
}

TEST(PoolingTest, ResetStartsAFreshInputAndZeroStaysZero) {
  EmbeddingPool pool;
  const float a[2] = {5, 5};
  pool.Reset(Pooling::kMean, 2);
  pool.Add(a);
  const float zero[2] = {0, 0};
  pool.Reset(Pooling::kMean, 2);
  pool.Add(zero);
  EXPECT_EQ(pool.count(), 1);
  std::vector<float> out(2, 7.0f);
  pool.Finish(out);
  EXPECT_EQ(out, (std::vector<float>{0, 0}));
}

TEST(PoolingTest, RegistryBeatsGgufWhichBeatsMean) {
  EXPECT_EQ(ResolvePooling(Pooling::kLast, 2), Pooling::kLast);
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, 2), Pooling::kCls);
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, 3), Pooling::kLast);
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, 1), Pooling::kMean);
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, 0), Pooling::kMean);   // none: still embeds
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, -1), Pooling::kMean);  // absent
  EXPECT_EQ(ResolvePooling(Pooling::kDefault, 4), Pooling::kMean);   // rank
}

TEST(PoolingTest, ParsesTheRegistryNames) {
  Pooling p = Pooling::kDefault;
  EXPECT_TRUE(ParsePooling("cls", &p));
  EXPECT_EQ(p, Pooling::kCls);
  EXPECT_TRUE(ParsePooling("last", &p));
  EXPECT_EQ(p, Pooling::kLast);
  EXPECT_TRUE(ParsePooling("mean", &p));
  EXPECT_EQ(p, Pooling::kMean);
  EXPECT_FALSE(ParsePooling("max", &p));
  EXPECT_FALSE(ParsePooling("", &p));
  EXPECT_EQ(p, Pooling::kMean);
}

}  // namespace
}  // namespace modeld::llm
