#include "pkg/types/status.h"

#include <gtest/gtest.h>

namespace modeld {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code_name(), "ok");
}

TEST(StatusTest, FactoriesCarryCodeAndMessage) {
  Status s = Status::NotFound("no such model 'x'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kModelNotFound);
  EXPECT_EQ(s.code_name(), "model_not_found");
  EXPECT_EQ(s.message(), "no such model 'x'");
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  EXPECT_TRUE(good.status().ok());

  Result<int> bad = Status::QueueFull("full");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kQueueFull);
}

}  // namespace modeld
