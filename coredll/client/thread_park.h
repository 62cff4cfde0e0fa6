// Stopping and starting host threads for CE's SuspendThread, ResumeThread, Sleep(INFINITE) and
// TerminateThread (docs/decisions/0010-threads.md). The kernel keeps each thread's suspend count;
// every reply that changes it carries the new count and its sequence, which the shim copies into
// the thread's control word (newer sequences only, so replies that race apply in kernel order).
//
// A thread with a count above 0 parks: the suspender sends it kParkSignal, whose handler (or the
// thread itself, for a self-suspend) sleeps on the control word until the count is 0 again.
// The signal interrupts anything, a kernel call's futex wait included (the wait goes on once
// the handler returns). The suspender returns only once the target says it is parked, or that
// it will park as it leaves its outermost ParkDeferral (CE's late suspend).
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>

#include "protocol/ce_constants.h"

namespace cek::coredll {

struct ThreadControl {
    // [sequence:23][exited:1][parked:1][count:7]; parked: parked, or will park as the deferral
    // it is in ends
    std::atomic<uint32_t> word{0};
    std::atomic<uint32_t> tid{0};            // Linux tid once the thread runs
    std::atomic<bool> terminated{false};     // TerminateThread: park for good
    uint32_t handle = 0;                     // the CE id
};

inline constexpr uint32_t kCountMask = 0x7F;
inline constexpr uint32_t kParkedBit = 0x80;
inline constexpr uint32_t kExitedBit = 0x100;
inline constexpr uint32_t kSequenceShift = 9;

// The control block of thread `handle` in this process, or null.
std::shared_ptr<ThreadControl> thread_control(uint32_t handle);
// A new block for thread `handle` (count `initial`), replacing any older one of that value.
std::shared_ptr<ThreadControl> make_thread_control(uint32_t handle, uint32_t initial);
// The thread is gone: its value may name another thread later. A terminated thread still
// sleeps on its block, which is then kept for good.
void forget_thread_control(uint32_t handle, bool terminated = false);

// The calling thread's block (null for a thread the shim has not met).
ThreadControl* current_control();
void set_current_control(ThreadControl* control);

// Copies a count the kernel reported, unless a newer one is already there; wakes the thread
// when it reaches 0.
void apply_suspend_count(ThreadControl& c, uint32_t sequence, uint32_t count);
// The calling thread parks while its count is above 0 (or for good once terminated).
void park_current(ThreadControl& c);
// Stops another thread of this process whose count the kernel just raised to above 0 (or that
// was terminated): signals it and returns once it is parked (or will park as its deferral ends),
// gone or resumed meanwhile, or after `give_up_ns` if not 0 (a thread that blocks the signal
// parks once it unblocks it).
void stop_thread(ThreadControl& c, uint32_t sequence, uint64_t give_up_ns = 0);
// The thread is gone: anyone waiting for it to park stops waiting.
void mark_exited(ThreadControl& c);
// Ends a thread of this process TerminateThread ended in the kernel: it parks for good.
void stop_terminated(uint32_t handle, uint64_t give_up_ns = 0);

namespace detail {
// The calling thread's deferral depth, and a park signal that arrived inside one (shared with
// the signal handler). Inline: every file I/O call takes two deferrals.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local volatile sig_atomic_t
    t_defer_depth;
[[gnu::tls_model("initial-exec")]] extern constinit thread_local volatile sig_atomic_t
    t_park_deferred;
// Parks the calling thread for the signal that came while it was deferred.
void take_deferred_park();
// One deferral level more; one less, taking a park that came meanwhile once none is left.
inline void enter_deferral() {
    t_defer_depth = t_defer_depth + 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
}
inline void leave_deferral() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    t_defer_depth = t_defer_depth - 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (t_defer_depth == 0 && t_park_deferred != 0) take_deferred_park();
}
}  // namespace detail

// While one lives, the calling thread holds a lock that other threads wait for (a message queue
// ring's, which other processes share; a file's turn on its kept position; a DeferredLock's): a
// park signal that arrives meanwhile takes effect when it ends, so a suspended or terminated
// thread never keeps the lock.
class ParkDeferral {
public:
    ParkDeferral() { resume(); }
    ~ParkDeferral() { pause(); }
    ParkDeferral(const ParkDeferral&) = delete;
    ParkDeferral& operator=(const ParkDeferral&) = delete;

    // Ends the deferral for a while (to wait for the lock): a park that came meanwhile is taken
    // now, and later ones at once.
    void pause() {
        if (!active_) return;
        active_ = false;
        detail::leave_deferral();
    }
    void resume() {
        if (active_) return;
        active_ = true;
        detail::enter_deferral();
    }
    // A park came while deferred: the holder should let go and pause().
    static bool pending() { return detail::t_park_deferred != 0; }

private:
    bool active_ = false;
};

// A lock of state the shim keeps for calls CE makes in its kernel (the caches of files, mutex
// words and message rings, the window, the address space, TLS slots, modules, snapshots, thread
// controls, the connection), held under a ParkDeferral: a SuspendThread or TerminateThread that
// lands while a thread holds it takes effect once it is let go, as CE stops a thread only once
// its kernel call returns. For sections that end by themselves (a kernel call may be inside,
// never a wait for another thread of this process). The heap's locks are not among them: CE's
// heap lives in user space, where a thread stopped in it keeps it too.
class DeferredLock {
public:
    explicit DeferredLock(std::mutex& m) : lock_(m) {}

private:
    ParkDeferral defer_;  // first in, last out: the lock goes before a park is taken
    std::lock_guard<std::mutex> lock_;
};

// The table of control blocks, held across fork() (Connection's fork handlers).
void lock_thread_controls();
void unlock_thread_controls();
// Connection's fork handlers hold the shim's locks across fork(): parks wait from the first
// handler to the last, as under a ParkDeferral. In the child none is taken (a park was for the
// parent's thread).
void begin_fork_deferral();
void end_fork_deferral(bool child);
// What another process's SuspendThread, ResumeThread or TerminateThread asks of thread `id` of
// this one (the agent, Connection::serve_agent): the kernel's count applied, and the thread
// stopped before this returns (parked, gone, or resumed meanwhile), or 1 s has passed: one thread
// that blocks the park signal must not hold up the others' controls.
void carry_out(ce::ThreadControlOp op, uint32_t id, uint32_t sequence, uint32_t count);

}  // namespace cek::coredll
