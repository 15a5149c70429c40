#include "internal/platform/huge_pages.h"

#include <gtest/gtest.h>

namespace modeld::platform {
namespace {

TEST(HugePagesTest, TunablesAddHugetlbToWhatIsThere) {
  struct Case {
    const char* current;
    const char* opt_out;
    const char* want;
  };
  const Case cases[] = {
      {"", "", "glibc.malloc.hugetlb=1"},
      {"glibc.malloc.arena_max=2", "", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"},
      {"glibc.malloc.hugetlb=0", "", ""},  // the user's choice wins
      {"glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2", "", ""},
      {"x.glibc.malloc.hugetlb=0", "", "x.glibc.malloc.hugetlb=0:glibc.malloc.hugetlb=1"},
      {"", "0", ""},
      {"", "off", ""},
      {"", "1", "glibc.malloc.hugetlb=1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HugePageTunables(c.current, c.opt_out), c.want)
        << "current='" << c.current << "' opt_out='" << c.opt_out << "'";
  }
}

TEST(HugePagesTest, ModeIsOneOfTheKernelsWords) {
  const std::string mode = TransparentHugePageMode();
  EXPECT_TRUE(mode == "always" || mode == "madvise" || mode == "never" || mode == "unknown")
      << mode;
}

TEST(HugePagesTest, AnonHugePagesIsReadFromSmapsRollup) {
  // Every Linux since 4.14 has smaps_rollup; the value may be 0.
  EXPECT_GE(AnonHugePageBytes(), 0);
}

}  // namespace
}  // namespace modeld::platform
