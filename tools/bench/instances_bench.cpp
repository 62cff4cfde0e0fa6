// instances_bench: many emulated devices on one host (issue 22, "many instances").
//   idle   --idle-instances kernels (default 32), each with two connected clients that then do
//          nothing; the CPU time all of them use over --idle-seconds, and their wake-ups
//          (context switches), read from /proc for every thread
//   busy   --busy-instances kernels (default 8), each with one client making calls (SetEvent +
//          ResetEvent on its own event) as fast as it can for --busy-seconds, all started at
//          once; each instance's throughput and the spread, (max - min) / max
// Every kernel is private (fresh root and runtime directory). Not a test: the smoke run
// (--quick) checks that every client connects and every call succeeds, never a speed.
// Figures: docs/performance.md, "Many instances".
//
//   instances_bench [--quick] [--kernel PATH] [--idle-instances N] [--idle-seconds S]
//                   [--busy-instances N] [--busy-seconds S]
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "private_kernel.h"
#include "protocol/futex.h"
#include <windows.h>

namespace {

using cek::bench::die;
using cek::bench::fork_child;
using cek::bench::Pipe;
using cek::bench::PrivateKernel;
using cek::bench::reap;

struct Options {
    std::string kernel;
    int idle_instances = 32;
    double idle_seconds = 10;
    int busy_instances = 8;
    double busy_seconds = 5;
};

// What the threads of some processes have used so far.
struct Usage {
    uint64_t cpu_ns = 0;    // on a CPU (schedstat's first field)
    uint64_t switches = 0;  // voluntary and involuntary context switches: each is a wake-up
};

uint64_t status_field(const std::string& path, const char* key) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr) return 0;
    char line[256];
    uint64_t value = 0;
    const size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f) != nullptr)
        if (std::strncmp(line, key, n) == 0) value = std::strtoull(line + n, nullptr, 10);
    std::fclose(f);
    return value;
}

Usage usage_of(const std::vector<pid_t>& pids) {
    Usage u;
    for (pid_t pid : pids) {
        const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
        DIR* d = ::opendir(task_dir.c_str());
        if (d == nullptr) continue;
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue;
            const std::string task = task_dir + "/" + e->d_name;
            if (FILE* f = std::fopen((task + "/schedstat").c_str(), "r")) {
                unsigned long long ns = 0;
                if (std::fscanf(f, "%llu", &ns) == 1) u.cpu_ns += ns;
                std::fclose(f);
            }
            u.switches += status_field(task + "/status", "voluntary_ctxt_switches:");
            u.switches += status_field(task + "/status", "nonvoluntary_ctxt_switches:");
        }
        ::closedir(d);
    }
    return u;
}

// One instance: its kernel and the clients connected to it. A client connects (its first call
// starts the shim's connection and watcher thread), says so on `ready`, runs `work` if any, and
// exits when `stop` reaches end of file.
struct Instance {
    std::unique_ptr<PrivateKernel> kernel;
    std::vector<pid_t> clients;
};

// The client's side: an event of its own, then either nothing (idle) or SetEvent + ResetEvent
// until the go signal's deadline; reports its call count on `results` as 8 bytes.
int client_body(const Pipe& ready, const Pipe& go, const Pipe& results, bool busy,
                double seconds) {
    HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (event == nullptr) return 3;
    ready.put('r');
    if (!busy) {
        go.get();  // end of file when the bench is done
        return CloseHandle(event) ? 0 : 4;
    }
    if (go.get() != 'g') return 5;
    const uint64_t end = cek::proto::monotonic_ns() + static_cast<uint64_t>(seconds * 1e9);
    uint64_t calls = 0;
    while (cek::proto::monotonic_ns() < end) {
        for (int i = 0; i < 64; ++i)
            if (!SetEvent(event) || !ResetEvent(event)) return 6;
        calls += 128;
    }
    (void)!::write(results.w, &calls, sizeof calls);
    return CloseHandle(event) ? 0 : 4;
}

std::vector<Instance> start(const Options& o, int count, int clients_each, const Pipe& ready,
                            const Pipe& go, const Pipe& results, bool busy, double seconds) {
    std::vector<Instance> all(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        // The kernel sets this process's environment to its instance; the clients inherit it.
        all[i].kernel = std::make_unique<PrivateKernel>(o.kernel, "inst" + std::to_string(i));
        for (int c = 0; c < clients_each; ++c)
            all[i].clients.push_back(fork_child([&] {
                ::close(go.w);
                return client_body(ready, go, results, busy, seconds);
            }));
    }
    for (int n = 0; n < count * clients_each; ++n)
        if (ready.get(60'000) != 'r') {
            std::fprintf(stderr, "instances_bench: a client did not connect\n");
            std::exit(2);
        }
    return all;
}

bool finish(std::vector<Instance>& all, Pipe& go) {
    ::close(go.w);
    go.w = -1;
    bool ok = true;
    for (auto& inst : all)
        for (pid_t c : inst.clients) {
            const int status = reap(c);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ok = false;
        }
    all.clear();  // stops the kernels
    return ok;
}

bool idle(const Options& o) {
    Pipe ready, go, results;
    auto all = start(o, o.idle_instances, 2, ready, go, results, false, 0);
    std::vector<pid_t> kernels, clients;
    for (auto& inst : all) {
        kernels.push_back(inst.kernel->pid());
        clients.insert(clients.end(), inst.clients.begin(), inst.clients.end());
    }
    const Usage k0 = usage_of(kernels), c0 = usage_of(clients);
    const uint64_t t0 = cek::proto::monotonic_ns();
    ::usleep(static_cast<useconds_t>(o.idle_seconds * 1e6));
    const double wall = static_cast<double>(cek::proto::monotonic_ns() - t0) / 1e9;
    const Usage k1 = usage_of(kernels), c1 = usage_of(clients);
    const double k_ms = static_cast<double>(k1.cpu_ns - k0.cpu_ns) / 1e6;
    const double c_ms = static_cast<double>(c1.cpu_ns - c0.cpu_ns) / 1e6;
    std::printf("idle: %d kernels with 2 idle clients each, %.1f s\n", o.idle_instances, wall);
    std::printf("  kernels: %8.3f ms CPU in all (%.4f%% of one CPU), %6.1f wake-ups/s\n", k_ms,
                k_ms / (wall * 10), static_cast<double>(k1.switches - k0.switches) / wall);
    std::printf("  clients: %8.3f ms CPU in all (%.4f%% of one CPU), %6.1f wake-ups/s\n", c_ms,
                c_ms / (wall * 10), static_cast<double>(c1.switches - c0.switches) / wall);
    return finish(all, go);
}

bool busy(const Options& o) {
    Pipe ready, go, results;
    auto all = start(o, o.busy_instances, 1, ready, go, results, true, o.busy_seconds);
    for (int i = 0; i < o.busy_instances; ++i) go.put('g');
    std::vector<double> rates;
    for (int i = 0; i < o.busy_instances; ++i) {
        uint64_t calls = 0;
        pollfd p{results.r, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o.busy_seconds * 1000) + 60'000) != 1 ||
            ::read(results.r, &calls, sizeof calls) != sizeof calls)
            break;
        rates.push_back(static_cast<double>(calls) / o.busy_seconds);
    }
    const bool ok = finish(all, go) && static_cast<int>(rates.size()) == o.busy_instances;
    if (!ok) return false;
    std::sort(rates.begin(), rates.end());
    double sum = 0;
    for (double r : rates) sum += r;
    std::printf("busy: %d instances, one client each calling as fast as it can, %.1f s\n",
                o.busy_instances, o.busy_seconds);
    std::printf("  calls/s per instance: min %.0f, median %.0f, max %.0f; total %.0f\n",
                rates.front(), rates[rates.size() / 2], rates.back(), sum);
    std::printf("  spread (max - min) / max: %.1f%%\n",
                100.0 * (rates.back() - rates.front()) / rates.back());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (const char* k = std::getenv("CEK_KERNEL")) o.kernel = k;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "instances_bench: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--quick") {
            o.idle_instances = 3;
            o.idle_seconds = 0.2;
            o.busy_instances = 2;
            o.busy_seconds = 0.2;
        } else if (a == "--kernel") {
            o.kernel = next();
        } else if (a == "--idle-instances") {
            o.idle_instances = std::atoi(next());
        } else if (a == "--idle-seconds") {
            o.idle_seconds = std::atof(next());
        } else if (a == "--busy-instances") {
            o.busy_instances = std::atoi(next());
        } else if (a == "--busy-seconds") {
            o.busy_seconds = std::atof(next());
        } else {
            std::fprintf(stderr, "usage: instances_bench [--quick] [--kernel PATH] "
                                 "[--idle-instances N] [--idle-seconds S] "
                                 "[--busy-instances N] [--busy-seconds S]\n");
            return 2;
        }
    }
    if (o.kernel.empty() || o.idle_instances < 1 || o.busy_instances < 1 || o.idle_seconds <= 0 ||
        o.busy_seconds <= 0) {
        std::fprintf(stderr, "instances_bench: needs --kernel (or CEK_KERNEL) and positive counts\n");
        return 2;
    }
    if (!idle(o) || !busy(o)) {
        std::fprintf(stderr, "instances_bench: a client failed\n");
        return 1;
    }
    return 0;
}
