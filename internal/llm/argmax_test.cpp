#include "internal/llm/argmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace modeld::llm {
namespace {

int32_t NaiveArgmax(const std::vector<float>& x) {
  int32_t best = 0;
  for (int32_t t = 1; t < static_cast<int32_t>(x.size()); ++t) {
    if (x[static_cast<size_t>(t)] > x[static_cast<size_t>(best)]) best = t;
  }
  return best;
}

TEST(ArgmaxTest, MatchesTheFirstLargestOnRandomVectors) {
  std::mt19937 rng(7);
  for (int32_t n : {1, 2, 7, 63, 64, 65, 127, 128, 1000, 32000, 32001}) {
    for (int round = 0; round < 20; ++round) {
      // Few distinct values, so ties (within and across blocks) are common.
      std::uniform_int_distribution<int> v(0, round % 2 == 0 ? 5 : 1000000);
      std::vector<float> x(static_cast<size_t>(n));
      for (float& f : x) f = static_cast<float>(v(rng)) - 3.0f;
      EXPECT_EQ(Argmax(x.data(), n), NaiveArgmax(x)) << "n=" << n << " round=" << round;
    }
  }
}

TEST(ArgmaxTest, TheFirstOfEqualMaximaWins) {
  std::vector<float> x(200, 1.0f);
  x[150] = 2.0f;
  x[70] = 2.0f;
  EXPECT_EQ(Argmax(x.data(), 200), 70);
  std::vector<float> flat(300, -1.0f);
  EXPECT_EQ(Argmax(flat.data(), 300), 0);
}

TEST(ArgmaxTest, NaNsAreNotChosen) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x(130, 0.0f);
  x[3] = nan;
  x[66] = nan;
  x[100] = 5.0f;
  x[129] = nan;
  EXPECT_EQ(Argmax(x.data(), 130), 100);
}

TEST(ArgmaxTest, TheTailAfterTheLastBlockCounts) {
  std::vector<float> x(64 * 3 + 5, 0.0f);
  x[64 * 3 + 4] = 1.0f;
  EXPECT_EQ(Argmax(x.data(), static_cast<int32_t>(x.size())), 64 * 3 + 4);
}

}  // namespace
}  // namespace modeld::llm
