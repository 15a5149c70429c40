#pragma once

// Transparent huge pages for the big anonymous buffers of a model load.
//
// A load's KV cache and repacked weights are fresh memory from malloc, which
// the kernel faults in 4 KiB at a time; in a VM those faults dominate a
// switch (about 500 ms of a 115 ms-able `small` load). glibc's tunable
// glibc.malloc.hugetlb=1 makes malloc madvise(MADV_HUGEPAGE) its mmap'd
// chunks, so the same buffers fault in 2 MiB at a time. glibc reads tunables
// only at process start, so modeld re-executes itself once with the tunable
// set (see docs/decisions.md).

#include <string>
#include <string_view>

namespace modeld::platform {

// The GLIBC_TUNABLES value to run with: `current` plus
// glibc.malloc.hugetlb=1. Empty when nothing should change: the user already
// chose a hugetlb setting, or `opt_out` (MODELD_HUGEPAGES) is "0" or "off".
std::string HugePageTunables(std::string_view current, std::string_view opt_out);

// Re-executes /proc/self/exe with HugePageTunables applied, once (a marker
// variable prevents a loop). Returns only when no re-exec was needed or the
// exec failed; then `why` says which. Call first thing in main, before any
// thread exists.
void ReexecWithHugePages(char** argv, std::string* why);

// What the kernel's THP mode is ("always", "madvise", "never" or "unknown").
std::string TransparentHugePageMode();

// This process's AnonHugePages from /proc/self/smaps_rollup, in bytes; -1
// when it cannot be read.
long long AnonHugePageBytes();

}  // namespace modeld::platform
