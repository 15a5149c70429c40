#include "internal/llm/standby_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace modeld::llm {
namespace {

// Weights that record when they are freed.
struct FakeWeights {
  FakeWeights(std::string n, std::vector<std::string>* f) : name(std::move(n)), freed(f) {}
  ~FakeWeights() { freed->push_back(name); }
  FakeWeights(const FakeWeights&) = delete;
  FakeWeights& operator=(const FakeWeights&) = delete;
  std::string name;
  std::vector<std::string>* freed;
};

class StandbyPoolTest : public ::testing::Test {
 protected:
  std::shared_ptr<FakeWeights> Make(const std::string& name) {
    return std::make_shared<FakeWeights>(name, &freed_);
  }
  static WeightsKey Key(const std::string& path, int64_t mtime = 1) {
    WeightsKey k;
    k.path = path;
    k.size = 100;
    k.mtime_ns = mtime;
    return k;
  }
  std::vector<std::string> freed_;
};

// A reload that removes or changes a model drops its weights by id.
TEST_F(StandbyPoolTest, EraseIdFreesThatModelsWeightsOnly) {
  StandbyPool<FakeWeights> pool(100);
  EXPECT_TRUE(pool.Put(Key("/a"), "a", Make("a"), 40));
  EXPECT_TRUE(pool.Put(Key("/b"), "b", Make("b"), 30));
  EXPECT_EQ(pool.EraseId("a"), 1u);
  EXPECT_EQ(freed_, std::vector<std::string>{"a"});
  EXPECT_EQ(pool.bytes(), 30u);
  ASSERT_EQ(pool.List().size(), 1u);
  EXPECT_EQ(pool.List()[0].id, "b");
  EXPECT_EQ(pool.EraseId("nope"), 0u);
  EXPECT_EQ(pool.bytes(), 30u);
}

TEST_F(StandbyPoolTest, EvictsLeastRecentlyUsedByBytes) {
  StandbyPool<FakeWeights> pool(100);
  EXPECT_TRUE(pool.Put(Key("/a"), "a", Make("a"), 40));
  EXPECT_TRUE(pool.Put(Key("/b"), "b", Make("b"), 40));
  EXPECT_EQ(pool.bytes(), 80u);
  EXPECT_TRUE(freed_.empty());
  // 80 + 30 > 100: a, the oldest, goes; b stays.
  EXPECT_TRUE(pool.Put(Key("/c"), "c", Make("c"), 30));
  EXPECT_EQ(freed_, std::vector<std::string>{"a"});
  EXPECT_EQ(pool.bytes(), 70u);
  ASSERT_EQ(pool.List().size(), 2u);
  EXPECT_EQ(pool.List()[0].id, "b");
  EXPECT_EQ(pool.List()[1].id, "c");
  // Needs all 100: both go, oldest first.
  EXPECT_TRUE(pool.Put(Key("/d"), "d", Make("d"), 100));
  EXPECT_EQ(freed_, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(pool.bytes(), 100u);
}

TEST_F(StandbyPoolTest, WeightsLargerThanTheBudgetAreFreedAndEvictNothing) {
  StandbyPool<FakeWeights> pool(100);
  EXPECT_TRUE(pool.Put(Key("/a"), "a", Make("a"), 60));
  EXPECT_FALSE(pool.Put(Key("/big"), "big", Make("big"), 101));
  EXPECT_EQ(freed_, std::vector<std::string>{"big"});
  EXPECT_EQ(pool.bytes(), 60u);
  ASSERT_EQ(pool.List().size(), 1u);
}

TEST_F(StandbyPoolTest, ZeroBudgetKeepsNothing) {
  StandbyPool<FakeWeights> pool(0);
  EXPECT_FALSE(pool.Put(Key("/a"), "a", Make("a"), 1));
  EXPECT_EQ(freed_, std::vector<std::string>{"a"});
  EXPECT_EQ(pool.Take(Key("/a")).weights, nullptr);
}

TEST_F(StandbyPoolTest, TakeReturnsTheWeightsAndFreesTheirBytes) {
  StandbyPool<FakeWeights> pool(100);
  pool.Put(Key("/a"), "a", Make("a"), 60);
  auto kept = pool.Take(Key("/a"));
  ASSERT_NE(kept.weights, nullptr);
  EXPECT_EQ(kept.weights->name, "a");
  EXPECT_EQ(kept.bytes, 60u);
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_TRUE(pool.List().empty());
  EXPECT_EQ(pool.Take(Key("/a")).weights, nullptr);
  EXPECT_TRUE(freed_.empty());
}

TEST_F(StandbyPoolTest, AChangedFileIsAMissAndFreesTheStaleWeights) {
  StandbyPool<FakeWeights> pool(100);
  pool.Put(Key("/a", 1), "a", Make("a"), 60);
  EXPECT_EQ(pool.Take(Key("/a", 2)).weights, nullptr);
  EXPECT_EQ(freed_, std::vector<std::string>{"a"});
  EXPECT_EQ(pool.bytes(), 0u);
}

TEST_F(StandbyPoolTest, LoadedAnotherWayIsAMiss) {
  StandbyPool<FakeWeights> pool(100);
  WeightsKey no_repack = Key("/a");
  no_repack.repack = false;
  pool.Put(Key("/a"), "a", Make("a"), 60);
  EXPECT_EQ(pool.Take(no_repack).weights, nullptr);
  EXPECT_EQ(freed_, std::vector<std::string>{"a"});
}

TEST_F(StandbyPoolTest, PutReplacesAnEntryForTheSamePath) {
  StandbyPool<FakeWeights> pool(100);
  pool.Put(Key("/a", 1), "a", Make("old"), 60);
  pool.Put(Key("/a", 2), "a", Make("new"), 60);
  EXPECT_EQ(freed_, std::vector<std::string>{"old"});
  EXPECT_EQ(pool.bytes(), 60u);
  auto kept = pool.Take(Key("/a", 2));
  ASSERT_NE(kept.weights, nullptr);
  EXPECT_EQ(kept.weights->name, "new");
}

TEST_F(StandbyPoolTest, ClearFreesEverything) {
  StandbyPool<FakeWeights> pool(100);
  pool.Put(Key("/a"), "a", Make("a"), 30);
  pool.Put(Key("/b"), "b", Make("b"), 30);
  pool.Clear();
  EXPECT_EQ(freed_.size(), 2u);
  EXPECT_EQ(pool.bytes(), 0u);
}

}  // namespace
}  // namespace modeld::llm
