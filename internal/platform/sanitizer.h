#pragma once

// Whether a sanitizer's allocator stands in for glibc's malloc in this build.
// Then mallinfo2 and malloc's tunables see nothing, and tests of them skip.

namespace modeld::platform {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerReplacesMalloc = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerReplacesMalloc = true;
#else
inline constexpr bool kSanitizerReplacesMalloc = false;
#endif
#else
inline constexpr bool kSanitizerReplacesMalloc = false;
#endif

}  // namespace modeld::platform
