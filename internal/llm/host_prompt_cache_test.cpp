#include "internal/llm/host_prompt_cache.h"

#include <gtest/gtest.h>

namespace modeld::llm {
namespace {

ModelIdentity Model(const std::string& id, int64_t mtime = 1) {
  ModelIdentity m;
  m.id = id;
  m.inode = 7;
  m.size = 100;
  m.mtime_ns = mtime;
  return m;
}

// `n` tokens 1..n and a state of `state_bytes`.
CachedPrompt Entry(const ModelIdentity& m, int n, size_t state_bytes, int first = 1) {
  CachedPrompt e;
  e.model = m;
  for (int i = 0; i < n; ++i) e.tokens.push_back(first + i);
  e.state.assign(state_bytes, 0xAB);
  return e;
}

TEST(HostPromptCacheTest, TakesTheLongestPrefixOfTheSameModel) {
  HostPromptCache c(1 << 20);
  c.Put(Entry(Model("a"), 4, 100));
  c.Put(Entry(Model("a"), 3, 100, 50));
  c.Put(Entry(Model("b"), 8, 100));
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  int match = 0;
  auto got = c.TakeLongest(Model("a"), prompt, 2, &match);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(match, 4);
  EXPECT_EQ(got->model.id, "a");
  EXPECT_EQ(c.entries(), 2u) << "taken out, not copied";
  EXPECT_FALSE(c.TakeLongest(Model("a"), prompt, 2, &match).has_value());
}

TEST(HostPromptCacheTest, AShortMatchIsNotTaken) {
  HostPromptCache c(1 << 20);
  c.Put(Entry(Model("a"), 4, 10));
  int match = 0;
  EXPECT_FALSE(c.TakeLongest(Model("a"), {1, 9, 9}, 2, &match).has_value());
  EXPECT_EQ(c.entries(), 1u);
}

TEST(HostPromptCacheTest, EvictsLeastRecentlyUsedToStayWithinTheBudget) {
  const size_t each = 1000 + 4 * sizeof(int32_t);
  HostPromptCache c(2 * each + 10);
  c.Put(Entry(Model("a"), 4, 1000, 1));
  c.Put(Entry(Model("a"), 4, 1000, 100));
  EXPECT_EQ(c.bytes(), 2 * each);
  c.Put(Entry(Model("a"), 4, 1000, 200));  // the first goes
  EXPECT_EQ(c.entries(), 2u);
  EXPECT_LE(c.bytes(), c.budget());
  int match = 0;
  EXPECT_FALSE(c.TakeLongest(Model("a"), {1, 2, 3, 4}, 2, &match).has_value());
  EXPECT_TRUE(c.TakeLongest(Model("a"), {200, 201, 202}, 2, &match).has_value());
  EXPECT_EQ(c.bytes(), each);
}

TEST(HostPromptCacheTest, AnEntryLargerThanTheBudgetIsNotKept) {
  HostPromptCache c(100);
  c.Put(Entry(Model("a"), 4, 1000));
  EXPECT_EQ(c.entries(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
  HostPromptCache off(0);
  off.Put(Entry(Model("a"), 1, 1));
  EXPECT_EQ(off.entries(), 0u);
}

TEST(HostPromptCacheTest, ALongerPrefixReplacesTheOnesItCovers) {
  HostPromptCache c(1 << 20);
  c.Put(Entry(Model("a"), 3, 100));
  c.Put(Entry(Model("a"), 6, 100));
  EXPECT_EQ(c.entries(), 1u);
  EXPECT_EQ(c.bytes(), 100 + 6 * sizeof(int32_t));
}

TEST(HostPromptCacheTest, AChangedFileInvalidatesItsEntries) {
  HostPromptCache c(1 << 20);
  c.Put(Entry(Model("a", 1), 4, 100));
  c.Put(Entry(Model("b", 1), 4, 100));
  c.InvalidateStale(Model("a", 2));  // same id, new mtime
  EXPECT_EQ(c.entries(), 1u);
  int match = 0;
  EXPECT_FALSE(c.TakeLongest(Model("a", 2), {1, 2, 3, 4}, 2, &match).has_value());
  EXPECT_FALSE(c.TakeLongest(Model("a", 1), {1, 2, 3, 4}, 2, &match).has_value());
  EXPECT_TRUE(c.TakeLongest(Model("b", 1), {1, 2, 3, 4}, 2, &match).has_value());
}

}  // namespace
}  // namespace modeld::llm
