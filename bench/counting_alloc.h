#pragma once

#include <atomic>
#include <cstdint>

namespace modeld::bench {

// Counts every global operator new in the process (counting_alloc.cpp
// replaces them all). Read it before and after the code under test.
// Thread-safety: the counters are atomics; any thread may allocate.
struct AllocCounts {
  uint64_t allocs = 0;
  uint64_t bytes = 0;
};
AllocCounts CurrentAllocs();

}  // namespace modeld::bench
