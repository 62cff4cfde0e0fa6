// A mutex's shared word (docs/decisions/0013-mutex-word.md): the state of a CE mutex while no
// thread waits on it, in memory the kernel shares with the processes that asked for it
// (MutexWord), so that an uncontended WaitForSingleObject + ReleaseMutex is two atomic
// operations in the caller and no round trip.
//
// The word is one 64-bit value:
//   bit 63      kKernel: the kernel holds the state (waiters, an abandonment to report, a
//               count too large); every caller goes to the kernel
//   bits 32-62  the recursion count of the owner (1 or more when owned)
//   bits 0-31   the owner's Linux thread id; 0 with count 0: free
// Callers change it only from an owned-or-free value with kKernel clear, by compare-and-swap;
// the kernel takes it over by swapping in kKernel (Kernel::settle) whenever it must look at the
// mutex, and hands it back once no thread waits.
//
// Trust: every process the kernel gave the word to can write anything into it. The kernel reads
// it as a claim, checks the owner against the processes that have it, and treats an owner it
// cannot find as a thread that died (the mutex is abandoned). No other memory is involved.
// This header names no Win32 error: the shim includes it beside <windows.h>.
#pragma once

#include <atomic>
#include <cstdint>

namespace cek::proto {

inline constexpr uint64_t kMutexKernel = uint64_t{1} << 63;
inline constexpr uint64_t kMutexOneLevel = uint64_t{1} << 32;
// The largest count the word holds; beyond it the kernel keeps the state.
inline constexpr uint32_t kMutexWordMaxCount = 0x7FFFFFFFu;
// The word's memfd: one page, the word at offset 0.
inline constexpr uint64_t kMutexWordBytes = 4096;

constexpr uint32_t mutex_word_owner(uint64_t w) { return static_cast<uint32_t>(w); }
constexpr uint32_t mutex_word_count(uint64_t w) {
    return static_cast<uint32_t>((w & ~kMutexKernel) >> 32);
}
constexpr uint64_t mutex_word(uint32_t owner, uint32_t count) {
    return owner == 0 ? 0 : uint64_t{count} << 32 | owner;
}

// WaitForSingleObject for thread `tid` without the kernel: true when it now owns the mutex
// (taken free, or one more level of its own); false when only the kernel can say.
inline bool mutex_word_acquire(std::atomic<uint64_t>& word, uint32_t tid) {
    uint64_t w = word.load(std::memory_order_relaxed);
    for (;;) {
        uint64_t next;
        if (w == 0)
            next = mutex_word(tid, 1);
        else if ((w & kMutexKernel) == 0 && mutex_word_owner(w) == tid &&
                 mutex_word_count(w) < kMutexWordMaxCount)
            next = w + kMutexOneLevel;
        else
            return false;
        if (word.compare_exchange_weak(w, next, std::memory_order_acquire,
                                       std::memory_order_relaxed))
            return true;
    }
}

// ReleaseMutex by thread `tid` without the kernel: true when released (one level, or entirely);
// false when only the kernel can say (not the owner, or the kernel holds the state).
inline bool mutex_word_release(std::atomic<uint64_t>& word, uint32_t tid) {
    uint64_t w = word.load(std::memory_order_relaxed);
    for (;;) {
        if ((w & kMutexKernel) != 0 || w == 0 || mutex_word_owner(w) != tid ||
            mutex_word_count(w) == 0)
            return false;
        const uint64_t next = mutex_word_count(w) == 1 ? 0 : w - kMutexOneLevel;
        if (word.compare_exchange_weak(w, next, std::memory_order_release,
                                       std::memory_order_relaxed))
            return true;
    }
}

}  // namespace cek::proto
