// The shim's park mechanism in this process, without a kernel (coredll/client/thread_park.*,
// docs/decisions/0010-threads.md): a suspend that lands while the target is inside a
// ParkDeferral returns at once, as CE's SuspendThread does for a thread inside a kernel call
// (the late suspend), and the target parks as the deferral ends, before any code after it; a
// resume that comes first leaves it running.
#include <catch2/catch.hpp>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
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

// A thread that enters a ParkDeferral (as a shim call holding a DeferredLock does) and stays in
// it until let go, waiting in system calls (where every sanitizer delivers the signal), as a
// deferred section waiting for an allocator lock would. `after` says it ran past the deferral.
// The destructor lets it go, resumes it and joins it, whatever the test found.
class DeferredTarget {
public:
    static constexpr uint32_t kHandle = 0x7ffff0;  // no kernel hands values out here

    DeferredTarget() : control_(make_thread_control(kHandle, 0)) {
        thread_ = std::thread([this] {
            set_current_control(control_.get());
            control_->tid.store(static_cast<uint32_t>(::gettid()), std::memory_order_release);
            {
                ParkDeferral deferral;
                tid_.store(::gettid());
                inside_.store(true);
                while (!leave_.load()) std::this_thread::sleep_for(1ms);
            }
            after_.store(true);
            set_current_control(nullptr);
        });
    }
    ~DeferredTarget() {
        leave_.store(true);
        apply_suspend_count(*control_, 100, 0);
        thread_.join();
        forget_thread_control(kHandle);
    }
    DeferredTarget(const DeferredTarget&) = delete;
    DeferredTarget& operator=(const DeferredTarget&) = delete;

    bool wait_inside() { return wait_for([this] { return inside_.load(); }); }
    bool wait_after() { return wait_for([this] { return after_.load(); }); }
    // Until it sleeps on its control word, parked.
    bool wait_parked() { return wait_for([this] { return in_futex_on(tid_, &control_->word); }); }
    bool parked_now() const { return in_futex_on(tid_, &control_->word); }
    void let_go() { leave_.store(true); }
    bool after() const { return after_.load(); }
    ThreadControl& control() { return *control_; }

private:
    template <typename F>
    static bool wait_for(F done) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    std::shared_ptr<ThreadControl> control_;
    std::atomic<pid_t> tid_{0};
    std::atomic<bool> inside_{false}, leave_{false}, after_{false};
    std::thread thread_;
};

bool parked_bit(const ThreadControl& c) { return (c.word.load() & kParkedBit) != 0; }

}  // namespace

TEST_CASE("a suspend that lands inside a deferral returns at once, and the thread parks as the "
          "deferral ends",
          "[multiproc][thread][park]") {
    DeferredTarget target;
    REQUIRE(target.wait_inside());
    // The count goes to 1 (sequence 1), as a kernel reply would say; the suspender returns while
    // the target is still inside its deferral. Before, it waited for the park until it gave up.
    apply_suspend_count(target.control(), 1, 1);
    const auto start = std::chrono::steady_clock::now();
    stop_thread(target.control(), 1, 20'000'000'000);
    INFO("stop_thread took " << (std::chrono::steady_clock::now() - start) / 1ms << " ms");
    CHECK(parked_bit(target.control()));
    CHECK_FALSE(target.parked_now());  // still inside: nothing has let it go

    // Let go: it parks on its control word before the code after the deferral runs.
    target.let_go();
    CHECK(target.wait_parked());
    CHECK_FALSE(target.after());

    // Resumed (count 0, sequence 2): it goes on, and the parked bit is cleared.
    apply_suspend_count(target.control(), 2, 0);
    CHECK(target.wait_after());
    CHECK_FALSE(parked_bit(target.control()));
}

TEST_CASE("a thread suspended and resumed inside a deferral leaves it without parking",
          "[multiproc][thread][park]") {
    DeferredTarget target;
    REQUIRE(target.wait_inside());
    apply_suspend_count(target.control(), 1, 1);
    stop_thread(target.control(), 1, 20'000'000'000);
    CHECK(parked_bit(target.control()));
    // Resumed before the deferral ends: the promise is void, and it runs on at once.
    apply_suspend_count(target.control(), 2, 0);
    target.let_go();
    CHECK(target.wait_after());
    CHECK_FALSE(parked_bit(target.control()));
}
