#pragma once

// Clang's thread-safety analysis (-Wthread-safety): the compiler checks that
// guarded fields are touched only with their mutex held. Other compilers see
// nothing. Names follow clang's documentation (and LevelDB's port/).

#if defined(__clang__)
#define MODELD_TSA(x) __attribute__((x))
#else
#define MODELD_TSA(x)
#endif

#define CAPABILITY(x) MODELD_TSA(capability(x))
#define SCOPED_CAPABILITY MODELD_TSA(scoped_lockable)
#define GUARDED_BY(x) MODELD_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) MODELD_TSA(pt_guarded_by(x))
#define REQUIRES(...) MODELD_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) MODELD_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) MODELD_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) MODELD_TSA(release_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) MODELD_TSA(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS MODELD_TSA(no_thread_safety_analysis)
