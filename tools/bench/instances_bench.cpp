// instances_bench: many emulated devices on one host (issue 22, "many instances").
//   idle   --idle-instances kernels (default 32), each with two connected clients that then do
//          nothing; the CPU time all of them use over --idle-seconds, and their wake-ups
//          (context switches), read from /proc for every thread
//   busy   --busy-instances kernels (default 8), each with one client making calls (SetEvent +
//          ResetEvent on its own event) as fast as it can for --busy-seconds, all started at
//          once; each instance's throughput and the spread, (max - min) / max, and the CPU time
//          each instance got (its kernel's threads and its client), to tell an instance that
//          got less of the machine from one that did more with its share; with --cgroup DIR
//          each instance (its kernel and its client) runs in a group of its own made under DIR,
//          as a container per device would put it. DIR is a directory of cgroup v1's cpu
//          hierarchy, or a v2 group with "cpu" in its cgroup.subtree_control; the bench must be
//          allowed to move its processes into DIR's children (as root: run it outside DIR)
// Every kernel is private (fresh root and runtime directory). Not a test: the smoke run
// (--quick) checks that every client connects and every call succeeds, never a speed.
// Figures: docs/performance.md, "Many instances".
//
//   instances_bench [--quick] [--kernel PATH] [--idle-instances N] [--idle-seconds S]
//                   [--busy-instances N] [--busy-seconds S] [--cgroup DIR]
//                   [--kernel-arg ARG]...   (added to each kernel's command line)
#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
    std::string cgroup;  // where the busy instances get a group each, if anywhere
    std::vector<std::string> kernel_args;
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

// What a busy client reports on `results`, in one write (under PIPE_BUF, so never interleaved).
struct BusyResult {
    uint64_t instance;
    uint64_t calls;
    uint64_t client_ns;  // the client's own CPU time while it called
    uint64_t kernel_ns;  // its kernel's over the same stretch
};

uint64_t process_cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// The client's side: an event of its own, then either nothing (idle) or SetEvent + ResetEvent
// until the go signal's deadline, reported on `results` as a BusyResult.
int client_body(int instance, pid_t kernel, const Pipe& ready, const Pipe& go,
                const Pipe& results, bool busy, double seconds) {
    HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (event == nullptr) return 3;
    ready.put('r');
    if (!busy) {
        go.get();  // end of file when the bench is done
        return CloseHandle(event) ? 0 : 4;
    }
    if (go.get() != 'g') return 5;
    const uint64_t cpu0 = process_cpu_ns();
    const uint64_t kernel0 = usage_of({kernel}).cpu_ns;
    const uint64_t end = cek::proto::monotonic_ns() + static_cast<uint64_t>(seconds * 1e9);
    uint64_t calls = 0;
    while (cek::proto::monotonic_ns() < end) {
        for (int i = 0; i < 64; ++i)
            if (!SetEvent(event) || !ResetEvent(event)) return 6;
        calls += 128;
    }
    const uint64_t kernel1 = usage_of({kernel}).cpu_ns;  // its threads stay the same
    if (kernel1 < kernel0) return 7;
    const BusyResult r{static_cast<uint64_t>(instance), calls, process_cpu_ns() - cpu0,
                       kernel1 - kernel0};
    (void)!::write(results.w, &r, sizeof r);
    return CloseHandle(event) ? 0 : 4;
}

std::vector<Instance> start(const Options& o, int count, int clients_each, const Pipe& ready,
                            const Pipe& go, const Pipe& results, bool busy, double seconds) {
    std::vector<Instance> all(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        // The kernel sets this process's environment to its instance; the clients inherit it.
        all[i].kernel =
            std::make_unique<PrivateKernel>(o.kernel, "inst" + std::to_string(i), o.kernel_args);
        const pid_t kernel = all[i].kernel->pid();
        for (int c = 0; c < clients_each; ++c)
            all[i].clients.push_back(fork_child([&] {
                ::close(go.w);
                return client_body(i, kernel, ready, go, results, busy, seconds);
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
    if (finish(all, go)) return true;
    std::fprintf(stderr, "instances_bench: an idle client failed\n");
    return false;
}

// min, median, max (and the total, where a sum means something) and (max - min) / max of
// some per-instance figures.
void print_spread(const char* what, std::vector<double> v, bool total) {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    std::printf("  %s: min %.0f, median %.0f, max %.0f", what, v.front(), v[v.size() / 2],
                v.back());
    if (total) std::printf("; total %.0f", sum);
    std::printf("; spread (max - min) / max %.1f%%\n", 100.0 * (v.back() - v.front()) / v.back());
}

// Whether `dir` is a cgroup whose children get the CPU controller: v1's cpu hierarchy has
// cpu.shares in every group, v2 lists "cpu" in the parent's cgroup.subtree_control.
bool cpu_controlled(const std::string& dir) {
    if (::access((dir + "/cgroup.procs").c_str(), W_OK) != 0) return false;
    if (::access((dir + "/cpu.shares").c_str(), F_OK) == 0) return true;
    FILE* f = std::fopen((dir + "/cgroup.subtree_control").c_str(), "r");
    if (f == nullptr) return false;
    char word[64];
    bool cpu = false;
    while (!cpu && std::fscanf(f, "%63s", word) == 1) cpu = std::strcmp(word, "cpu") == 0;
    std::fclose(f);
    return cpu;
}

// One cgroup per instance under `parent`, holding the instance's kernel and clients; removed
// when the bench is done with them (a group can go once its processes have). `ok` is false,
// with a message printed, when a group could not be made or filled.
struct InstanceGroups {
    std::vector<std::string> dirs;
    bool ok = true;
    InstanceGroups(const std::string& parent, const std::vector<Instance>& all) {
        if (parent.empty()) return;
        for (size_t i = 0; i < all.size() && ok; ++i) {
            const std::string dir = parent + "/cek-bench-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(i);
            if (::mkdir(dir.c_str(), 0755) != 0) {
                std::fprintf(stderr, "instances_bench: mkdir %s: %s\n", dir.c_str(),
                             std::strerror(errno));
                ok = false;
                break;
            }
            dirs.push_back(dir);
            std::vector<pid_t> pids = all[i].clients;
            pids.push_back(all[i].kernel->pid());
            for (pid_t pid : pids) {
                // "r+": a cgroup's file exists once the group does; nothing is made elsewhere.
                FILE* f = std::fopen((dir + "/cgroup.procs").c_str(), "r+");
                const bool written = f != nullptr && std::fprintf(f, "%d\n", pid) > 0;
                if (f == nullptr || std::fclose(f) != 0 || !written) {
                    std::fprintf(stderr, "instances_bench: moving %d into %s: %s\n", pid,
                                 dir.c_str(), std::strerror(errno));
                    ok = false;
                    break;
                }
            }
        }
    }
    ~InstanceGroups() {
        for (const auto& dir : dirs)
            if (::rmdir(dir.c_str()) != 0)
                std::fprintf(stderr, "instances_bench: could not remove %s: %s\n", dir.c_str(),
                             std::strerror(errno));
    }
};

bool busy(const Options& o) {
    Pipe ready, go, results;
    auto all = start(o, o.busy_instances, 1, ready, go, results, true, o.busy_seconds);
    InstanceGroups groups(o.cgroup, all);
    if (!groups.ok) {
        (void)finish(all, go);
        return false;
    }
    const size_t n = all.size();
    for (size_t i = 0; i < n; ++i) go.put('g');
    std::vector<double> rates(n, -1), cpu_ms(n, 0), per_cpu_ms(n, 0);
    size_t reported = 0;
    for (; reported < n; ++reported) {
        BusyResult r{};
        pollfd p{results.r, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(o.busy_seconds * 1000) + 60'000) != 1 ||
            ::read(results.r, &r, sizeof r) != sizeof r || r.instance >= n ||
            rates[r.instance] >= 0)
            break;
        rates[r.instance] = static_cast<double>(r.calls) / o.busy_seconds;
        cpu_ms[r.instance] = static_cast<double>(r.kernel_ns + r.client_ns) / 1e6;
        per_cpu_ms[r.instance] = static_cast<double>(r.calls) / std::max(cpu_ms[r.instance], 1e-3);
    }
    if (!finish(all, go) || reported != n) {
        std::fprintf(stderr, "instances_bench: a busy client failed\n");
        return false;
    }
    std::printf("busy: %d instances, one client each calling as fast as it can, %.1f s%s\n",
                o.busy_instances, o.busy_seconds,
                o.cgroup.empty() ? "" : ", a cgroup per instance");
    print_spread("calls/s per instance", rates, true);
    print_spread("CPU ms per instance (kernel + client)", cpu_ms, true);
    print_spread("calls per CPU ms", per_cpu_ms, false);
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
        } else if (a == "--cgroup") {
            o.cgroup = next();
        } else if (a == "--kernel-arg") {
            o.kernel_args.push_back(next());
        } else {
            std::fprintf(stderr, "usage: instances_bench [--quick] [--kernel PATH] "
                                 "[--idle-instances N] [--idle-seconds S] "
                                 "[--busy-instances N] [--busy-seconds S] [--cgroup DIR] "
                                 "[--kernel-arg ARG]...\n");
            return 2;
        }
    }
    if (o.kernel.empty() || o.idle_instances < 1 || o.busy_instances < 1 || o.idle_seconds <= 0 ||
        o.busy_seconds <= 0) {
        std::fprintf(stderr,
                     "instances_bench: needs --kernel (or CEK_KERNEL) and positive counts\n");
        return 2;
    }
    if (!o.cgroup.empty() && !cpu_controlled(o.cgroup)) {
        std::fprintf(stderr, "instances_bench: --cgroup %s: not a cgroup directory this process "
                             "may write to, with the CPU controller on for its children\n",
                     o.cgroup.c_str());
        return 2;
    }
    if (!idle(o) || !busy(o)) return 1;
    return 0;
}
