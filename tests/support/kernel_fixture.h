// KernelFixture: a private kernel for one test case: its own instance name, runtime directory
// and CE root, started in the foreground and stopped (or killed) at the end. Children spawned
// through it find that kernel through their environment and never auto-start another.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/snapshot.h"
#include "support/process.h"

namespace cek::test {

// Kernel arguments of a test of a row where CE 5 and CE 6 differ: it names its personality,
// whatever CEK_TEST_PERSONALITY says (the suite's second run boots every other kernel as ce6).
inline const std::vector<std::string> kCe5Kernel = {"--personality", "ce5"};
inline const std::vector<std::string> kCe6Kernel = {"--personality", "ce6"};

class KernelFixture {
public:
    // A kernel started with `kernel_args` added (e.g. {"--personality", "ce6"}).
    explicit KernelFixture(const std::vector<std::string>& kernel_args = {});
    ~KernelFixture();

    const std::string& instance() const { return instance_; }
    const std::string& root() const { return root_.path(); }
    const std::string& runtime_dir() const { return runtime_.path(); }
    pid_t kernel_pid() const { return kernel_ ? kernel_->pid() : -1; }
    // The kernel's personality: 5 or 6.
    int personality() const { return personality_; }
    bool ce5() const { return personality_ == 5; }

    // The environment a client of this kernel needs.
    std::map<std::string, std::string> client_env() const;
    // A helper program (tests/helpers/ce_child) attached to this kernel, ready for commands.
    std::unique_ptr<Child> spawn_child();
    // A consistent picture of the kernel's state, through a diagnostics connection.
    proto::Snapshot snapshot();
    // Polls snapshots until `pred` holds, at most `timeout`. Returns the last snapshot's verdict.
    template <class Pred>
    bool wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (pred(snapshot())) return true;
            if (std::chrono::steady_clock::now() >= deadline) return false;
        }
    }

    // Starts the kernel with `extra_args`, run through `launcher` (e.g. unshare) when given.
    void start_kernel(const std::vector<std::string>& extra_args = {},
                      const std::vector<std::string>& launcher = {});
    void kill_kernel(int signal);
    std::optional<int> wait_kernel(std::chrono::milliseconds timeout);

private:
    std::string instance_;
    TempDir runtime_;
    TempDir root_;
    std::unique_ptr<Child> kernel_;
    int personality_ = 0;  // 5 or 6 once a kernel has started
};

// Readiness without sleeping: true once the kernel reports at least `count` waits of `child`
// pending (a blocked WaitForSingleObject, ReadMsgQueue, WriteMsgQueue...).
bool waiting(KernelFixture& k, Child& child, size_t count = 1);
// `count` threads asleep on a message queue ring's `end` ("reader" or "writer"), as the ring
// counts them (cedump's `asleep`): a call blocked on a ring never reaches the kernel's waits.
bool asleep_on_queue(KernelFixture& k, const std::string& end, size_t count = 1);

// A helper (ce_child) meant to die of a fault: sanitizers are told not to turn SIGSEGV into
// a report and an abort, so the test sees the signal itself.
std::unique_ptr<Child> spawn_child_that_may_fault(KernelFixture& k);
// Sends `command` to `child` and expects it to die of SIGSEGV instead of answering.
void expect_segv(Child& child, const std::string& command);

// The hostile helper (tests/helpers/hostile) attached to `k`, ready for commands.
std::unique_ptr<Child> spawn_hostile(KernelFixture& k);
// The bytes of `rel` under k's store root, read on the host ("" when it cannot be read).
std::string host_file(const KernelFixture& k, const std::string& rel);

}  // namespace cek::test
