// touch_bench: what CE 5's touch by address costs (docs/semantics/mappings.md §9), from one run
// against a private kernel (--kernel, default $CEK_KERNEL) on a fresh root. Every operation is
// timed on its own (two clock reads around it) on a fresh 64 KiB RAM-backed mapping, made before
// the clock starts and closed (CloseHandle) after it stops; the checks are untimed too.
//   first view     MapViewOfFile(FILE_MAP_WRITE) + one write + UnmapViewOfFile
//   first touch    one write to a mapping this process mapped and unmapped beforehand (untimed):
//                  the fault, libcoredll's SIGSEGV handler, the WindowTouch round trip, the
//                  descriptor's receive and the mmap of the mapping's range, the write again
//   host floor     the same write to a host PROT_NONE range whose own SIGSEGV handler mmaps a
//                  memfd it already holds over it: the first touch without the kernel
//   touched page   after that first touch, one write to another page of the same mapping
//   native fault   the same write (page 8, after a write to page 0) on a host
//                  mmap(MAP_SHARED | MAP_ANONYMOUS) of 64 KiB, made and unmapped untimed
// Each round runs in a fresh child process, so that nothing a round leaves behind (ranges its
// touches hold, lingering ranges) carries into the next; the sides run one after another in it.
// A round's figure for a side is the median of its operations' times (one preemption of a few ms
// moves a mean of a few thousand operations by microseconds); the figure per side is the median
// of the rounds' figures (msgqueue_bench's rule), with the best round beside it. Prints ns per
// operation and the ratios first touch / first view and touched page / native fault. Not a test:
// it asserts only that every call succeeds and every write lands (--quick is the smoke run, a
// few hundred operations, and its figures mean nothing).
//
//   touch_bench [--quick] [--kernel PATH] [--iterations N] [--runs N]
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "private_kernel.h"
// clang-format off
#include <windows.h>
// clang-format on

namespace {

using cek::bench::fork_child;
using cek::bench::Pipe;
using cek::bench::reap;

constexpr DWORD kSize = 64 << 10;
constexpr size_t kPage = 4096;
constexpr size_t kOtherPage = 8 * kPage;  // the "touched page": not the first touch's page

struct Options {
    std::string kernel;
    int iterations = 3000;
    int runs = 7;
};

// One round's medians, ns per operation.
struct Round {
    double view = 0, touch = 0, page = 0, native = 0, clock = 0, floor = 0;
};

// One round's times of one operation; its figure is their median, which the preemptions of a
// shared machine (a few ms each, in a few operations) do not move as they move a mean.
class Samples {
public:
    explicit Samples(int n) { ns_.reserve(static_cast<size_t>(n)); }
    void operator+=(uint64_t ns) { ns_.push_back(ns); }
    double median() {
        std::nth_element(ns_.begin(), ns_.begin() + static_cast<std::ptrdiff_t>(ns_.size() / 2),
                         ns_.end());
        return static_cast<double>(ns_[ns_.size() / 2]);
    }

private:
    std::vector<uint64_t> ns_;
};

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// Keeps the compiler from moving memory accesses across the clock reads.
inline void barrier() { asm volatile("" ::: "memory"); }

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "touch_bench: %s failed (error %u)\n", what,
                 static_cast<unsigned>(GetLastError()));
    std::_Exit(1);
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

HANDLE new_mapping() {
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, kSize, nullptr);
    check(h != nullptr, "CreateFileMappingW");
    return h;
}

// A view of `h` for reading, checked to sit at `at` and to hold `first` at its start and
// `other` at kOtherPage, then unmapped.
void check_view(HANDLE h, volatile char* at, char first, char other, const char* what) {
    auto* v = static_cast<volatile char*>(MapViewOfFile(h, FILE_MAP_READ, 0, 0, 0));
    check(v != nullptr, "MapViewOfFile (check)");
    if (v != at || v[0] != first || v[kOtherPage] != other) {
        std::fprintf(stderr, "touch_bench: %s: the write did not land\n", what);
        std::_Exit(1);
    }
    check(UnmapViewOfFile(const_cast<char*>(v)), "UnmapViewOfFile (check)");
}

double round_view(int n) {
    Samples ns(n);
    for (int i = 0; i < n; ++i) {
        HANDLE h = new_mapping();
        const char value = static_cast<char>(1 + i % 100);
        const uint64_t start = now_ns();
        barrier();
        auto* p = static_cast<volatile char*>(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0));
        if (p == nullptr) fail("MapViewOfFile");
        p[0] = value;
        if (!UnmapViewOfFile(const_cast<char*>(p))) fail("UnmapViewOfFile");
        barrier();
        ns += now_ns() - start;
        check_view(h, p, value, 0, "first view");
        check(CloseHandle(h), "CloseHandle");
    }
    return ns.median();
}

// The first touch and the touched page, from the same mappings: returns the first, sets `page`.
double round_touch(int n, double& page) {
    Samples ns(n), ns_page(n);
    for (int i = 0; i < n; ++i) {
        HANDLE h = new_mapping();
        auto* p = static_cast<volatile char*>(MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, 0));
        check(p != nullptr, "MapViewOfFile (before the touch)");
        // The handle keeps the mapping alive; its range is PROT_NONE here now.
        check(UnmapViewOfFile(const_cast<char*>(p)), "UnmapViewOfFile (before the touch)");
        const char value = static_cast<char>(1 + i % 100), other = static_cast<char>(value + 1);
        uint64_t start = now_ns();
        barrier();
        p[0] = value;  // faults; the handler maps the mapping; the write runs again
        barrier();
        ns += now_ns() - start;
        start = now_ns();
        barrier();
        p[kOtherPage] = other;  // an ordinary page fault now
        barrier();
        ns_page += now_ns() - start;
        if (p[0] != value || p[kOtherPage] != other) {
            std::fprintf(stderr, "touch_bench: first touch: the writes do not read back\n");
            std::_Exit(1);
        }
        // A view shows the mapping's own pages: the touch mapped the right one.
        check_view(h, p, value, other, "first touch");
        check(CloseHandle(h), "CloseHandle");
    }
    page = ns_page.median();
    return ns.median();
}

double round_native(int n) {
    Samples ns(n);
    for (int i = 0; i < n; ++i) {
        void* m = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            std::perror("touch_bench: mmap");
            std::_Exit(1);
        }
        auto* p = static_cast<volatile char*>(m);
        const char value = static_cast<char>(1 + i % 100);
        p[0] = value;  // as the first touch did on the other side
        const uint64_t start = now_ns();
        barrier();
        p[kOtherPage] = value;
        barrier();
        ns += now_ns() - start;
        if (p[0] != value || p[kOtherPage] != value) {
            std::fprintf(stderr, "touch_bench: native: the writes do not read back\n");
            std::_Exit(1);
        }
        if (::munmap(m, kSize) != 0) {
            std::perror("touch_bench: munmap");
            std::_Exit(1);
        }
    }
    return ns.median();
}

// The host's floor for a first touch: a write to a PROT_NONE range whose SIGSEGV handler maps a
// memfd this process already holds over it (the signal, one mmap, the return, the page fault),
// without the kernel, the descriptor's receive and its check. Replaces libcoredll's handler, so
// it runs last in a round's child.
int g_floor_fd = -1;
void* g_floor_base = nullptr;

void floor_handler(int, siginfo_t* info, void*) {
    const bool ours = info->si_addr >= g_floor_base &&
                      static_cast<char*>(info->si_addr) < static_cast<char*>(g_floor_base) + kSize;
    if (!ours || ::mmap(g_floor_base, kSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                        g_floor_fd, 0) == MAP_FAILED) {
        ::signal(SIGSEGV, SIG_DFL);  // the access faults again and the process ends of it
    }
}

double round_floor(int n) {
    struct sigaction sa {};
    sa.sa_sigaction = floor_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGSEGV, &sa, nullptr) != 0) {
        std::perror("touch_bench: sigaction");
        std::_Exit(1);
    }
    Samples ns(n);
    for (int i = 0; i < n; ++i) {
        g_floor_fd = ::memfd_create("touch-floor", MFD_CLOEXEC);
        if (g_floor_fd < 0 || ::ftruncate(g_floor_fd, kSize) != 0) {
            std::perror("touch_bench: memfd_create");
            std::_Exit(1);
        }
        g_floor_base = ::mmap(nullptr, kSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (g_floor_base == MAP_FAILED) {
            std::perror("touch_bench: mmap");
            std::_Exit(1);
        }
        auto* p = static_cast<volatile char*>(g_floor_base);
        const char value = static_cast<char>(1 + i % 100);
        const uint64_t start = now_ns();
        barrier();
        p[0] = value;
        barrier();
        ns += now_ns() - start;
        char back = 0;
        if (p[0] != value || ::pread(g_floor_fd, &back, 1, 0) != 1 || back != value) {
            std::fprintf(stderr, "touch_bench: floor: the write did not land\n");
            std::_Exit(1);
        }
        ::munmap(g_floor_base, kSize);
        ::close(g_floor_fd);
    }
    return ns.median();
}

// Two clock reads around nothing: what every figure above includes once.
double round_clock(int n) {
    Samples ns(n);
    for (int i = 0; i < n; ++i) {
        const uint64_t start = now_ns();
        barrier();
        ns += now_ns() - start;
    }
    return ns.median();
}

// One round in a fresh child: a few untimed operations first (the connection, the first
// calls), then each side.
Round run_round(int n) {
    Pipe result;
    const pid_t child = fork_child([&] {
        double page = 0;
        round_view(5);
        round_touch(5, page);
        Round r;
        r.view = round_view(n);
        r.touch = round_touch(n, r.page);
        r.native = round_native(n);
        r.clock = round_clock(n);
        r.floor = round_floor(n);
        return ::write(result.w, &r, sizeof r) == static_cast<ssize_t>(sizeof r) ? 0 : 1;
    });
    ::close(result.w);
    Round r;
    ssize_t got = -1;
    pollfd p{result.r, POLLIN, 0};
    // A round that has not ended after two minutes is stuck: stop it.
    if (::poll(&p, 1, 120'000) == 1)
        got = ::read(result.r, &r, sizeof r);
    else
        ::kill(child, SIGKILL);
    ::close(result.r);
    const int status = reap(child);
    if (got != static_cast<ssize_t>(sizeof r) || status != 0) {
        if (WIFSIGNALED(status))  // SIGSEGV: a touch the handler did not serve
            std::fprintf(stderr, "touch_bench: a round died of signal %d\n", WTERMSIG(status));
        else
            std::fprintf(stderr, "touch_bench: a round failed (status %#x)\n", status);
        std::exit(1);
    }
    return r;
}

struct Figure {
    double median, best;
};

Figure figure(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front()};
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    bool quick = false;
    if (const char* k = std::getenv("CEK_KERNEL")) o.kernel = k;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--quick") {
            quick = true;
            o.iterations = 300;
            o.runs = 1;
        } else if (a == "--kernel") {
            o.kernel = next();
        } else if (a == "--iterations") {
            o.iterations = std::max(1, std::atoi(next().c_str()));
        } else if (a == "--runs") {
            o.runs = std::max(1, std::atoi(next().c_str()));
        } else {
            std::fprintf(stderr, "usage: see the comment at the top of touch_bench.cpp\n");
            return 2;
        }
    }
    if (o.kernel.empty()) {
        std::fprintf(stderr, "touch_bench: no kernel (--kernel or $CEK_KERNEL)\n");
        return 2;
    }
    const cek::bench::PrivateKernel kernel(o.kernel, "touch");
    std::vector<double> view, touch, page, native, clocks, floors;
    for (int r = 0; r < o.runs; ++r) {
        const Round round = run_round(o.iterations);
        view.push_back(round.view);
        touch.push_back(round.touch);
        page.push_back(round.page);
        native.push_back(round.native);
        clocks.push_back(round.clock);
        floors.push_back(round.floor);
    }
    const Figure v = figure(view), t = figure(touch), p = figure(page), n = figure(native),
                 c = figure(clocks), f = figure(floors);
    std::printf("64 KiB RAM-backed mappings; %d runs of %d operations per side%s\n", o.runs,
                o.iterations, quick ? " (--quick: checks only, the figures mean nothing)" : "");
    std::printf("%-48s %10s %10s\n", "operation", "median ns", "best ns");
    std::printf("%-48s %10.0f %10.0f\n", "first view (MapViewOfFile + write + Unmap)", v.median,
                v.best);
    std::printf("%-48s %10.0f %10.0f\n", "first touch (write, unmapped before)", t.median, t.best);
    std::printf("%-48s %10.0f %10.0f\n", "host floor (SIGSEGV handler mmaps a memfd)", f.median,
                f.best);
    std::printf("%-48s %10.0f %10.0f\n", "touched page (write, another page)", p.median, p.best);
    std::printf("%-48s %10.0f %10.0f\n", "native page fault (host MAP_SHARED mmap)", n.median,
                n.best);
    std::printf("%-48s %10.0f %10.0f\n", "two clock reads (in every figure above)", c.median,
                c.best);
    std::printf("ratio first touch / first view: %.2f (best %.2f)\n", t.median / v.median,
                t.best / v.best);
    std::printf("ratio touched page / native page fault: %.2f (best %.2f)\n", p.median / n.median,
                p.best / n.best);
    return 0;
}
