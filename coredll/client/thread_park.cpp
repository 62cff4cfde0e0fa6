#include "coredll/client/thread_park.h"

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "protocol/futex.h"

namespace cek::coredll {

[[gnu::tls_model("initial-exec")]] constinit thread_local volatile sig_atomic_t
    detail::t_defer_depth = 0;
[[gnu::tls_model("initial-exec")]] constinit thread_local volatile sig_atomic_t
    detail::t_park_deferred = 0;

namespace {

[[gnu::tls_model("initial-exec")]] thread_local ThreadControl* t_control = nullptr;

std::mutex g_mutex;
std::unordered_map<uint32_t, std::shared_ptr<ThreadControl>>& controls() {
    static auto* map = new std::unordered_map<uint32_t, std::shared_ptr<ThreadControl>>;
    return *map;
}

int park_signal() { return SIGRTMIN + 3; }

// 23-bit sequences, compared with wrap-around.
bool newer(uint32_t a, uint32_t b) {
    return static_cast<int32_t>((a - b) << kSequenceShift) > 0;
}
uint32_t sequence_of(uint32_t word) { return word >> kSequenceShift; }

using detail::t_defer_depth;
using detail::t_park_deferred;

// A park signal inside a deferral: the thread parks as the deferral ends, and the parked bit
// says so now, so that its suspender returns at once, as CE's SuspendThread does for a thread
// inside a kernel call (the late suspend). Waiting for the park instead would make the
// suspender wait for whatever the deferred section waits for, such as an allocator lock held by
// a thread that is itself suspended. park_current keeps the bit, or clears it if the count is 0
// again by then.
void promise_park(ThreadControl& c) {
    uint32_t w = c.word.load(std::memory_order_acquire);
    for (;;) {
        const bool stay = c.terminated.load(std::memory_order_acquire) || (w & kCountMask) != 0;
        if (!stay || (w & kParkedBit) != 0) return;
        if (c.word.compare_exchange_weak(w, w | kParkedBit, std::memory_order_acq_rel)) break;
    }
    proto::futex_wake(c.word, INT_MAX);
}

void on_park_signal(int) {
    const int saved = errno;
    if (t_defer_depth > 0) {
        t_park_deferred = 1;
        if (ThreadControl* c = t_control) promise_park(*c);
    } else if (ThreadControl* c = t_control) {
        park_current(*c);
    }
    errno = saved;
}

void install_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = &on_park_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        ::sigaction(park_signal(), &sa, nullptr);
    });
}

}  // namespace

std::shared_ptr<ThreadControl> thread_control(uint32_t handle) {
    DeferredLock lock(g_mutex);
    auto& map = controls();
    auto it = map.find(handle);
    return it != map.end() ? it->second : nullptr;
}

std::shared_ptr<ThreadControl> make_thread_control(uint32_t handle, uint32_t initial) {
    install_handler();
    auto c = std::make_shared<ThreadControl>();
    c->handle = handle;
    c->word.store(initial & kCountMask, std::memory_order_relaxed);
    DeferredLock lock(g_mutex);
    controls()[handle] = c;
    return c;
}

void forget_thread_control(uint32_t handle, bool terminated) {
    DeferredLock lock(g_mutex);
    auto it = controls().find(handle);
    if (it == controls().end()) return;
    // A terminated thread sleeps on its word until the process ends: its control is kept, and
    // stays reachable (a leak checker does not report it).
    if (terminated) {
        static auto* kept = new std::vector<std::shared_ptr<ThreadControl>>;
        kept->push_back(std::move(it->second));
    }
    controls().erase(it);
}

ThreadControl* current_control() { return t_control; }
void set_current_control(ThreadControl* control) { t_control = control; }

void apply_suspend_count(ThreadControl& c, uint32_t sequence, uint32_t count) {
    sequence &= (1u << (32 - kSequenceShift)) - 1;
    uint32_t w = c.word.load(std::memory_order_acquire);
    for (;;) {
        if (!newer(sequence, sequence_of(w)) && sequence != sequence_of(w)) return;
        if (sequence == sequence_of(w) && (w & kCountMask) == count) return;
        uint32_t next = (sequence << kSequenceShift) | (w & (kParkedBit | kExitedBit)) |
                        (count & kCountMask);
        if (c.word.compare_exchange_weak(w, next, std::memory_order_acq_rel)) break;
    }
    proto::futex_wake(c.word, INT_MAX);
}

void begin_fork_deferral() { detail::enter_deferral(); }

void end_fork_deferral(bool child) {
    if (child) {  // the parent's park, and the promise of it, stay with the parent's thread
        t_park_deferred = 0;
        if (ThreadControl* c = t_control)
            c->word.fetch_and(~kParkedBit, std::memory_order_acq_rel);
    }
    detail::leave_deferral();
}

void detail::take_deferred_park() {
    t_park_deferred = 0;
    if (ThreadControl* c = t_control) park_current(*c);
}

void park_current(ThreadControl& c) {
    for (;;) {
        uint32_t w = c.word.load(std::memory_order_acquire);
        const bool stay = c.terminated.load(std::memory_order_acquire) || (w & kCountMask) != 0;
        if (!stay) {
            if ((w & kParkedBit) != 0) {
                if (!c.word.compare_exchange_weak(w, w & ~kParkedBit)) continue;
                proto::futex_wake(c.word, INT_MAX);
            }
            return;
        }
        if ((w & kParkedBit) == 0) {
            if (!c.word.compare_exchange_weak(w, w | kParkedBit)) continue;
            w |= kParkedBit;
            proto::futex_wake(c.word, INT_MAX);  // the suspender waits for this
        }
        proto::futex_wait(c.word, w, 0);
    }
}

void stop_thread(ThreadControl& c, uint32_t sequence, uint64_t give_up_ns) {
    sequence &= (1u << (32 - kSequenceShift)) - 1;
    const uint32_t tid = c.tid.load(std::memory_order_acquire);
    // A thread not started yet parks by itself before running any of its code.
    if (tid == 0) return;
    if (::syscall(SYS_tgkill, ::getpid(), tid, park_signal()) != 0) return;  // gone
    const uint64_t start = give_up_ns != 0 ? proto::monotonic_ns() : 0;
    for (;;) {
        uint32_t w = c.word.load(std::memory_order_acquire);
        if ((w & (kParkedBit | kExitedBit)) != 0) return;
        if (!c.terminated.load() && ((w & kCountMask) == 0 || sequence_of(w) != sequence)) return;
        if (give_up_ns != 0 && proto::monotonic_ns() - start >= give_up_ns) return;
        // Bounded sleeps, to notice a thread that died without a word (a pthread_exit from
        // under the shim).
        if (!proto::futex_wait(c.word, w, 50'000'000) &&
            ::syscall(SYS_tgkill, ::getpid(), tid, 0) != 0)
            return;
    }
}

void mark_exited(ThreadControl& c) {
    c.word.fetch_or(kExitedBit, std::memory_order_acq_rel);
    proto::futex_wake(c.word, INT_MAX);
}

void stop_terminated(uint32_t handle, uint64_t give_up_ns) {
    if (auto c = thread_control(handle)) {
        c->terminated.store(true, std::memory_order_release);
        proto::futex_wake(c->word, INT_MAX);  // a thread parked by a suspend
        stop_thread(*c, 0, give_up_ns);
        forget_thread_control(handle, true);
    }
}

void lock_thread_controls() { g_mutex.lock(); }
void unlock_thread_controls() { g_mutex.unlock(); }

void carry_out(ce::ThreadControlOp op, uint32_t id, uint32_t sequence, uint32_t count) {
    constexpr uint64_t kGiveUpNs = 1'000'000'000;
    if (op == ce::ThreadControlOp::Terminate) return stop_terminated(id, kGiveUpNs);
    // A thread the shim never met has no block: it never talked to the kernel (so no one
    // could name it) or has gone.
    auto c = thread_control(id);
    if (c == nullptr) return;
    apply_suspend_count(*c, sequence, count);
    if (op == ce::ThreadControlOp::Suspend && count != 0) stop_thread(*c, sequence, kGiveUpNs);
}

}  // namespace cek::coredll
