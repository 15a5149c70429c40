#include "internal/platform/malloc_tuning.h"
#include "internal/platform/sanitizer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace modeld::platform {
namespace {

TEST(MallocTuningTest, AppliesBothWhenTheUserSetNeither) {
  const MallocSettings s = MallocSettingsToApply("glibc.malloc.hugetlb=1");
  EXPECT_TRUE(s.trim_threshold);
  EXPECT_TRUE(s.mmap_threshold);
}

TEST(MallocTuningTest, TheUsersOwnSettingWins) {
  const MallocSettings trim = MallocSettingsToApply("glibc.malloc.trim_threshold=0");
  EXPECT_FALSE(trim.trim_threshold);
  EXPECT_TRUE(trim.mmap_threshold);
  const MallocSettings mmap =
      MallocSettingsToApply("glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=65536");
  EXPECT_TRUE(mmap.trim_threshold);
  EXPECT_FALSE(mmap.mmap_threshold);
}

TEST(MallocTuningTest, OnlyWholeNamesCount) {
  const MallocSettings s = MallocSettingsToApply("x.glibc.malloc.trim_threshold=1");
  EXPECT_TRUE(s.trim_threshold);
  EXPECT_TRUE(MallocSettingsToApply("glibc.malloc.mmap_threshold").mmap_threshold);
}

TEST(MallocTuningTest, FreeHeapGoesBackOnlyAboveTheBound) {
  if (kSanitizerReplacesMalloc) {
    GTEST_SKIP() << "a sanitizer's allocator replaces malloc; mallinfo2 does not see it";
  }
  // 4 MiB of heap freed below a block that stays, so it is not the top
  // chunk that free() itself would give back.
  constexpr size_t kBlock = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks;
  for (int i = 0; i < 65; ++i) {
    blocks.push_back(std::make_unique<char[]>(kBlock));
    blocks.back()[0] = 1;
  }
  for (int i = 0; i < 64; ++i) blocks[i].reset();
  const HeapRelease kept = ReleaseFreeHeapAbove(SIZE_MAX);
  EXPECT_FALSE(kept.trimmed);
  EXPECT_GE(kept.free_bytes, static_cast<long long>(64 * kBlock));
  const HeapRelease released = ReleaseFreeHeapAbove(kBlock);
  EXPECT_TRUE(released.trimmed);
  EXPECT_GE(released.free_bytes, static_cast<long long>(64 * kBlock));
}

}  // namespace
}  // namespace modeld::platform
