#include "internal/platform/resident_memory.h"
#include "internal/platform/sanitizer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace modeld::platform {
namespace {

TEST(ResidentMemoryTest, ParsesAnonAndFileInBytes) {
  const ResidentMemory m = ParseResidentMemory(
      "Name:\tmodeld\nVmRSS:\t   300 kB\nRssAnon:\t     120 kB\nRssFile:\t   180 kB\n"
      "RssShmem:\t       0 kB\n");
  EXPECT_EQ(m.anon, 120 * 1024);
  EXPECT_EQ(m.file, 180 * 1024);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.total(), 300 * 1024);
}

TEST(ResidentMemoryTest, MissingFieldsAreNotZero) {
  const ResidentMemory m = ParseResidentMemory("Name:\tx\nRssAnon:\tgarbage\n");
  EXPECT_EQ(m.anon, -1);
  EXPECT_EQ(m.file, -1);
  EXPECT_FALSE(m.ok());
}

TEST(ResidentMemoryTest, TouchingMemoryShowsAsAnon) {
  const ResidentMemory before = ReadResidentMemory();
  ASSERT_TRUE(before.ok());
  constexpr size_t kBytes = 64 << 20;
  std::unique_ptr<char[]> block(new char[kBytes]);
  std::memset(block.get(), 1, kBytes);
  // Clang may otherwise elide the allocation: only one byte is read back.
  asm volatile("" : : "r"(block.get()) : "memory");
  const ResidentMemory after = ReadResidentMemory();
  EXPECT_GE(after.anon - before.anon, static_cast<int64_t>(kBytes) / 2);
  EXPECT_EQ(block[kBytes - 1], 1);
}

TEST(ResidentMemoryTest, HeapInUseCountsAnAllocationUntilItIsFreed) {
  if (kSanitizerReplacesMalloc) {
    GTEST_SKIP() << "a sanitizer's allocator replaces malloc; mallinfo2 does not see it";
  }
  const int64_t before = HeapInUseBytes();
  constexpr size_t kBytes = 8 << 20;
  auto block = std::make_unique<char[]>(kBytes);
  block[0] = 1;
  EXPECT_GE(HeapInUseBytes() - before, static_cast<int64_t>(kBytes));
  block.reset();
  EXPECT_LT(HeapInUseBytes() - before, static_cast<int64_t>(kBytes));
}

}  // namespace
}  // namespace modeld::platform
