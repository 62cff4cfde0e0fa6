// Shared (not private) futex calls on words in MAP_SHARED memory. Never FUTEX_*_PRIVATE and
// never std::atomic::wait across processes: both key the wait on the address space and hang.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace cek::proto {

// Sleeps while *word == expected, at most `timeout_ns` (0: no limit). Returns false on timeout.
inline bool futex_wait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns) {
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000ULL),
                static_cast<long>(timeout_ns % 1'000'000'000ULL)};
    long r = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected,
                       timeout_ns != 0 ? &ts : nullptr, nullptr, 0);
    return !(r == -1 && errno == ETIMEDOUT);
}

inline void futex_wake(std::atomic<uint32_t>& word, int count) {
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, count, nullptr, nullptr,
              0);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

inline uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}
inline uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline uint64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }

}  // namespace cek::proto
