// wake_bench: what a signal costs the kernel when many waits are parked on the object (issue 16,
// finding 10). In-process on a Kernel, no IPC: 250 fake processes park 400 waits each (100,000)
// on one event or semaphore; the liveness probe is what the transport's is, one poll() of the
// process's socket (here one end of a socketpair). Reports the median of the timed calls:
//   SetEvent / PulseEvent / ReleaseSemaphore(1) of an auto-reset event or semaphore, which
//   release one waiter (the released wait is parked again, untimed, to keep the crowd);
//   PulseEvent of a manual-reset event, which releases them all (per pulse and per wait).
// Compare two builds by running both in one session (docs/performance.md).
//   wake_bench [--quick]
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "protocol/ce_constants.h"

namespace {

using namespace cek;
using Clock = std::chrono::steady_clock;

struct Crowd {
    kernel::Kernel& k;
    std::vector<kernel::ProcessId> procs;
    std::vector<int> socks;  // the kernel's end of each process's socketpair
    uint64_t next_tag = 1;

    Crowd(kernel::Kernel& kernel, int processes) : k(kernel) {
        for (int i = 0; i < processes; ++i) {
            procs.push_back(k.attach_process(10000 + i, "wake_bench", false).value());
            int sv[2];
            if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
                std::perror("socketpair");
                std::exit(1);
            }
            socks.push_back(sv[0]);
            socks.push_back(sv[1]);  // kept open: the process is alive
        }
        k.set_liveness_probe([this](kernel::ProcessId id) {
            pollfd p{socks[2 * (id.raw - procs.front().raw)], POLLRDHUP, 0};
            return ::poll(&p, 1, 0) == 0 || (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) == 0;
        });
    }
    ~Crowd() {
        k.set_liveness_probe(nullptr);
        for (int fd : socks) ::close(fd);
    }
    void park(size_t process, kernel::HandleValue h) {
        kernel::HandleValue hs[1] = {h};
        auto r = k.wait({procs[process], 7}, hs, false, ce::kWaitInfinite, next_tag++);
        if (r.has_value()) {
            std::fprintf(stderr, "wake_bench: a wait completed at once\n");
            std::exit(1);
        }
    }
    void park_all(kernel::HandleValue h, int each) {
        for (int w = 0; w < each; ++w)
            for (size_t i = 0; i < procs.size(); ++i) park(i, h);
    }
    // Parks again the wait(s) that just completed, by the same processes.
    void repark(kernel::HandleValue h) {
        for (const auto& done : k.take_completions()) park(done.process.raw - procs.front().raw, h);
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class Signal>
double time_one(Signal&& signal) {
    const auto start = Clock::now();
    signal();
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int processes = quick ? 10 : 250;
    const int each = quick ? 10 : 400;
    const int calls = quick ? 20 : 201;
    const int pulses = quick ? 3 : 7;
    kernel::KernelConfig config;
    config.window_base = 0x200000000000;
    config.window_size = uint64_t{1} << 30;
    kernel::Kernel k(config);
    Crowd crowd(k, processes);
    const size_t waiters = size_t(processes) * each;

    auto named = [&](auto create) {
        kernel::HandleValue h{};
        for (auto p : crowd.procs) {
            kernel::LastError le;
            auto r = create(p, le);
            if (!r) {
                std::fprintf(stderr, "wake_bench: create failed: %u\n", to_u32(r.error()));
                std::exit(1);
            }
            h = r.value();
        }
        return h;
    };
    const std::u16string set_name = u"wake-set", pulse_name = u"wake-pulse",
                         manual_name = u"wake-manual", sem_name = u"wake-sem";
    // One object per measurement: each keeps its own crowd.
    const auto set_event = named([&](kernel::ProcessId p, kernel::LastError& le) {
        return k.create_event(p, false, false, &set_name, le);
    });
    const auto pulse_event = named([&](kernel::ProcessId p, kernel::LastError& le) {
        return k.create_event(p, false, false, &pulse_name, le);
    });
    const auto manual_event = named([&](kernel::ProcessId p, kernel::LastError& le) {
        return k.create_event(p, true, false, &manual_name, le);
    });
    const auto semaphore = named([&](kernel::ProcessId p, kernel::LastError& le) {
        return k.create_semaphore(p, 0, 1 << 30, &sem_name, le);
    });
    const kernel::ProcessId caller = crowd.procs.front();

    // One waiter released per call, the crowd kept at `waiters`. The crowd stays parked on the
    // object afterwards (it costs the other objects nothing) and goes with the kernel.
    auto per_call = [&](kernel::HandleValue h, auto signal) {
        crowd.park_all(h, each);
        std::vector<double> ns;
        for (int i = 0; i < calls; ++i) {
            ns.push_back(time_one(signal));
            crowd.repark(h);
        }
        return median(ns);
    };
    const double set_ns =
        per_call(set_event, [&] { (void)k.set_event(caller, set_event, ce::EventOp::Set); });
    const double pulse_ns =
        per_call(pulse_event, [&] { (void)k.set_event(caller, pulse_event, ce::EventOp::Pulse); });
    const double sem_ns =
        per_call(semaphore, [&] { (void)k.release_semaphore(caller, semaphore, 1); });
    std::vector<double> manual;
    for (int i = 0; i < pulses; ++i) {
        crowd.park_all(manual_event, each);
        manual.push_back(
            time_one([&] { (void)k.set_event(caller, manual_event, ce::EventOp::Pulse); }));
        (void)k.take_completions();
    }
    const double manual_ns = median(manual);
    std::printf("waiters parked: %zu (%d processes)\n", waiters, processes);
    std::printf("SetEvent, auto-reset (releases 1): %.1f us\n", set_ns / 1000);
    std::printf("PulseEvent, auto-reset (releases 1): %.1f us\n", pulse_ns / 1000);
    std::printf("ReleaseSemaphore(1) (releases 1): %.1f us\n", sem_ns / 1000);
    std::printf("PulseEvent, manual-reset (releases all): %.2f ms, %.1f ns per wait\n",
                manual_ns / 1e6, manual_ns / double(waiters));
    return 0;
}
