// fairness_bench: how much one client's expensive legal requests delay a neighbour's calls
// (issue 16, finding 6). A private kernel (--kernel, default $CEK_KERNEL) on a fresh root; a
// neighbour process times GetFileAttributesW("\Windows") in a loop, first alone (the baseline),
// then while a load process with --threads threads runs each workload:
//   find      FindFirstFileW + FindNextFileW to the end + FindClose over a folder of --find files
//   create    CreateFileW(CREATE_NEW) + CloseHandle of new files in a folder of --fill entries
//   copy      CopyFileW of a --copy-mib MiB file (real data, no holes)
//   snapshot  cedump's Snapshot request while --handles event handles are open (in processes of
//             60,000 handles each)
// Prints the neighbour's median, p99 and max latency per workload and their ratios to the
// baseline median, all from one run. Not a test: it asserts nothing (--quick is the smoke run).
//
//   fairness_bench [--quick] [--kernel PATH] [--seconds S] [--threads N] [--find N] [--fill N]
//                  [--copy-mib N] [--handles N] [--only find|create|copy|snapshot]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "coredll/client/connection.h"
#include "private_kernel.h"
#include "protocol/futex.h"
#include "protocol/messages.h"
// clang-format off
#include <windows.h>
// clang-format on

namespace {

namespace fs = std::filesystem;

struct Options {
    std::string kernel;
    double seconds = 3.0;
    int threads = 16;
    int find = 40'000;
    int fill = 100'000;
    int copy_mib = 512;
    int handles = 250'000;
    std::string only;
};

std::u16string wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

using cek::bench::die;
using cek::bench::fork_child;
using cek::bench::Pipe;
using cek::bench::reap;

// ---- The neighbour ----

struct Latency {
    double median_ms = 0, p99_ms = 0, max_ms = 0;
    size_t calls = 0;
};

// Times GetFileAttributesW until `seconds` passed; sends the sorted samples back.
Latency neighbour_run(double seconds) {
    Latency l;
    Pipe results;
    const pid_t pid = fork_child([&] {
        GetFileAttributesW(u"\\Windows");  // connects
        std::vector<double> t;
        const uint64_t end = cek::proto::monotonic_ns() + static_cast<uint64_t>(seconds * 1e9);
        for (uint64_t now = cek::proto::monotonic_ns(); now < end;) {
            if (GetFileAttributesW(u"\\Windows") == INVALID_FILE_ATTRIBUTES) return 1;
            const uint64_t after = cek::proto::monotonic_ns();
            t.push_back(static_cast<double>(after - now) / 1e6);
            now = after;
        }
        std::sort(t.begin(), t.end());
        double out[4] = {t[t.size() / 2], t[std::min(t.size() - 1, t.size() * 99 / 100)],
                         t.back(), static_cast<double>(t.size())};
        return ::write(results.w, out, sizeof out) == sizeof out ? 0 : 1;
    });
    double in[4] = {};
    ssize_t got = 0;
    while (got < static_cast<ssize_t>(sizeof in)) {
        const ssize_t n = ::read(results.r, reinterpret_cast<char*>(in) + got, sizeof in - got);
        if (n <= 0) break;
        got += n;
    }
    reap(pid);
    l.median_ms = in[0];
    l.p99_ms = in[1];
    l.max_ms = in[2];
    l.calls = static_cast<size_t>(in[3]);
    return l;
}

// ---- Loads ----

// Runs `op` in `threads` threads of a child process from when it is ready until told to stop;
// reports how many operations completed.
struct Load {
    pid_t pid = -1;
    Pipe ready, stop, count;
};

void start_load(Load& load, int threads, const std::function<void()>& setup,
                const std::function<bool(int thread, uint64_t i)>& op) {
    load.pid = fork_child([&] {
        setup();
        std::atomic<bool> stopping{false};
        std::atomic<uint64_t> done{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                for (uint64_t i = 0; !stopping.load(std::memory_order_relaxed); ++i) {
                    if (!op(t, i)) {
                        std::fprintf(stderr, "fairness_bench: a load call failed (%u)\n",
                                     static_cast<unsigned>(GetLastError()));
                        break;
                    }
                    done.fetch_add(1, std::memory_order_relaxed);
                }
            });
        }
        load.ready.put('r');
        load.stop.get();
        stopping = true;
        for (auto& th : pool) th.join();
        const uint64_t n = done.load();
        return ::write(load.count.w, &n, sizeof n) == sizeof n ? 0 : 1;
    });
    if (load.ready.get(600'000) != 'r') {
        std::fprintf(stderr, "fairness_bench: the load did not start\n");
        std::exit(2);
    }
}

uint64_t stop_load(Load& load) {
    load.stop.put('s');
    uint64_t n = 0;
    if (::read(load.count.r, &n, sizeof n) != sizeof n) n = 0;
    reap(load.pid);
    return n;
}

void make_files(const fs::path& dir, int count, const char* prefix) {
    fs::create_directories(dir);
    for (int i = 0; i < count; ++i) {
        const std::string name = std::string(prefix) + std::to_string(i);
        const int fd = ::open((dir / name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) die("create");
        ::close(fd);
    }
}

void make_big(const fs::path& file, int mib) {
    const int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("create");
    std::vector<char> chunk(1 << 20);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
    for (int i = 0; i < mib; ++i)
        if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) die("write");
    ::close(fd);
}

void print_row(const char* name, const Latency& l, const Latency& base, uint64_t ops,
               double seconds) {
    std::printf("%-10s %10.3f %10.3f %10.3f %9.1fx %9.1fx %8zu %10.1f\n", name, l.median_ms,
                l.p99_ms, l.max_ms, l.median_ms / base.median_ms, l.max_ms / base.median_ms,
                l.calls, static_cast<double>(ops) / seconds);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (const char* k = std::getenv("CEK_KERNEL")) o.kernel = k;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--quick") {
            o.seconds = 0.3;
            o.threads = 4;
            o.find = 300;
            o.fill = 500;
            o.copy_mib = 8;
            o.handles = 2000;
        } else if (a == "--kernel") {
            o.kernel = next();
        } else if (a == "--seconds") {
            o.seconds = std::atof(next().c_str());
        } else if (int* n = a == "--threads"    ? &o.threads
                            : a == "--find"     ? &o.find
                            : a == "--fill"     ? &o.fill
                            : a == "--copy-mib" ? &o.copy_mib
                            : a == "--handles"  ? &o.handles
                                                : nullptr) {
            *n = std::atoi(next().c_str());
        } else if (a == "--only") {
            o.only = next();
        } else {
            std::fprintf(stderr, "usage: see the comment at the top of fairness_bench.cpp\n");
            return 2;
        }
    }
    if (o.kernel.empty()) {
        std::fprintf(stderr, "fairness_bench: no kernel (--kernel or $CEK_KERNEL)\n");
        return 2;
    }
    const cek::bench::PrivateKernel kernel(o.kernel, "fairness");
    const fs::path temp = kernel.root() / "Temp";

    std::printf("neighbour: GetFileAttributesW, %.1f s per row; load: %d threads\n", o.seconds,
                o.threads);
    std::printf("%-10s %10s %10s %10s %10s %10s %8s %10s\n", "load", "median ms", "p99 ms",
                "max ms", "median/b", "max/b", "calls", "load op/s");
    const Latency alone = neighbour_run(o.seconds);
    print_row("none", alone, alone, 0, o.seconds);
    auto want = [&](const char* name) { return o.only.empty() || o.only == name; };

    auto run = [&](const char* name, int threads, const std::function<void()>& setup,
                   const std::function<bool(int, uint64_t)>& op) {
        Load load;
        start_load(load, threads, setup, op);
        const uint64_t t0 = cek::proto::monotonic_ns();
        const Latency l = neighbour_run(o.seconds);
        const uint64_t ops = stop_load(load);
        print_row(name, l, alone, ops, static_cast<double>(cek::proto::monotonic_ns() - t0) / 1e9);
        std::fflush(stdout);
    };

    if (want("find")) {
        make_files(temp / "find", o.find, "a_rather_long_file_name_for_the_listing_");
        run("find", o.threads, [] {}, [](int, uint64_t) {
            WIN32_FIND_DATAW d;
            HANDLE h = FindFirstFileW(u"\\Temp\\find\\*", &d);
            if (h == INVALID_HANDLE_VALUE) return false;
            while (FindNextFileW(h, &d)) {
            }
            const bool ended = GetLastError() == ERROR_NO_MORE_FILES;
            return FindClose(h) && ended;
        });
    }
    if (want("create")) {
        make_files(temp / "fill", o.fill, "entry_");
        run("create", o.threads, [] {}, [](int t, uint64_t i) {
            const std::u16string path =
                u"\\Temp\\fill\\new_" + wide(std::to_string(t) + "_" + std::to_string(i));
            HANDLE h = CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, 0, nullptr);
            return h != INVALID_HANDLE_VALUE && CloseHandle(h);
        });
    }
    if (want("copy")) {
        make_big(temp / "big.bin", o.copy_mib);
        run("copy", std::min(o.threads, 2), [] {}, [](int t, uint64_t) {
            const std::u16string to = u"\\Temp\\copy" + wide(std::to_string(t)) + u".bin";
            return CopyFileW(u"\\Temp\\big.bin", to.c_str(), FALSE) != FALSE;
        });
        fs::remove(temp / "big.bin");
        fs::remove(temp / "copy0.bin");
        fs::remove(temp / "copy1.bin");
    }
    if (want("snapshot")) {
        // Holders: processes of up to 60,000 open events each, alive while the load runs.
        std::vector<Load> holders((o.handles + 59'999) / 60'000);
        int left = o.handles;
        for (auto& h : holders) {
            const int n = std::min(left, 60'000);
            left -= n;
            start_load(h, 0, [n] {
                for (int i = 0; i < n; ++i)
                    if (CreateEventW(nullptr, TRUE, FALSE, nullptr) == nullptr) std::_Exit(3);
            }, [](int, uint64_t) { return false; });
        }
        run("snapshot", std::min(o.threads, 4), [] {}, [](int, uint64_t) {
            cek::proto::SnapshotRequest req{};
            cek::proto::SnapshotReply rep{};
            auto status = cek::coredll::Connection::instance().call(req, rep);
            // Past the memory budget the kernel refuses to keep it: still a snapshot built.
            (void)status;
            return true;
        });
        for (auto& h : holders) stop_load(h);
    }
    return 0;
}
