// The shim's park mechanism in this process, without a kernel (coredll/client/thread_park.*,
// docs/decisions/0010-threads.md): a suspend that lands while the target is inside a
// ParkDeferral returns at once, as CE's SuspendThread does for a thread inside a kernel call
// (the late suspend), and the target parks as the deferral ends, before any code after it.
#include <catch2/catch.hpp>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "coredll/client/thread_park.h"

using namespace cek::coredll;
using namespace std::chrono_literals;

namespace {

// Whether thread `tid` of this process is in a futex system call on `word`, as a parked thread
// is (/proc/self/task/TID/syscall: the call's number and its first argument).
bool in_futex_on(pid_t tid, const void* word) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
    long number = -1;
    std::string first;
    if (!(in >> number >> first) || number != SYS_futex) return false;
    return std::stoull(first, nullptr, 16) == reinterpret_cast<uintptr_t>(word);
}

}  // namespace

TEST_CASE("a suspend that lands inside a deferral returns at once, and the thread parks as the "
          "deferral ends",
          "[multiproc][thread][park]") {
    // Values of our own: no kernel hands them out here.
    constexpr uint32_t kHandle = 0x7ffff0;
    auto control = make_thread_control(kHandle, 0);
    std::atomic<pid_t> tid{0};
    std::atomic<bool> in_deferral{false}, leave{false}, after{false};
    std::thread target([&] {
        set_current_control(control.get());
        control->tid.store(static_cast<uint32_t>(::gettid()), std::memory_order_release);
        {
            ParkDeferral deferral;  // as a shim call holding a DeferredLock
            tid.store(::gettid());
            in_deferral.store(true);
            // Waits for the suspender in system calls (where the signal is taken under every
            // sanitizer), as a deferred section waiting for an allocator lock would.
            while (!leave.load()) std::this_thread::sleep_for(1ms);
        }
        after.store(true);  // only once resumed
        set_current_control(nullptr);
    });
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!in_deferral.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    REQUIRE(in_deferral.load());

    // The count goes to 1 (sequence 1), as a kernel reply would say; the suspender returns while
    // the target is still inside its deferral. Before, it waited for the park until it gave up.
    apply_suspend_count(*control, 1, 1);
    const auto start = std::chrono::steady_clock::now();
    stop_thread(*control, 1, 20'000'000'000);
    INFO("stop_thread took " << (std::chrono::steady_clock::now() - start) / 1ms << " ms");
    CHECK((control->word.load() & kParkedBit) != 0);
    CHECK_FALSE(leave.load());  // nothing has let the deferral end yet

    // Let go: the target parks on its control word before the code after the deferral runs.
    leave.store(true);
    bool parked = false;
    while (!(parked = in_futex_on(tid.load(), &control->word)) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    CHECK(parked);
    CHECK_FALSE(after.load());

    // Resumed (count 0, sequence 2): it goes on, and the parked bit is cleared.
    apply_suspend_count(*control, 2, 0);
    target.join();
    CHECK(after.load());
    CHECK((control->word.load() & kParkedBit) == 0);
    forget_thread_control(kHandle);
}
