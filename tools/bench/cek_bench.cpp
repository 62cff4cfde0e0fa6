// cek_bench: round-trip and object-call latencies of CEKernel, with the host baselines measured
// in the same run (so ratios survive a noisy machine). Not a test: it asserts nothing.
//
//   cek_bench [--quick] [--samples N]
//
// Rows: the null round trip with the kernel hot (a call right after the previous one) and cold
// (after a pause, so the kernel sleeps in epoll and the caller on its futex), a Unix-socket
// round trip between two processes measured the same two ways, and CreateFileMappingW+CloseHandle
// (new name, existing name), MapViewOfFile+UnmapViewOfFile with their in-process host floors.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "coredll/client/connection.h"
#include "protocol/futex.h"
// clang-format off
#include <windows.h>
// clang-format on

namespace {

struct Stats {
    double median_us;
    double p99_us;
};

Stats measure(size_t samples, const std::function<void()>& op, uint64_t pause_ns = 0) {
    std::vector<double> t;
    t.reserve(samples);
    for (size_t i = 0; i < samples / 10 + 1; ++i) op();  // warm-up
    for (size_t i = 0; i < samples; ++i) {
        if (pause_ns != 0) {
            timespec ts{0, static_cast<long>(pause_ns)};
            nanosleep(&ts, nullptr);
        }
        uint64_t a = cek::proto::monotonic_ns();
        op();
        uint64_t b = cek::proto::monotonic_ns();
        t.push_back(static_cast<double>(b - a) / 1000.0);
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], t[std::min(t.size() - 1, t.size() * 99 / 100)]};
}

void row(const char* name, Stats s, Stats base, const char* base_name) {
    std::printf("%-44s %9.2f %9.2f   %-28s %9.2f %7.2fx\n", name, s.median_us, s.p99_us, base_name,
                base.median_us, s.median_us / base.median_us);
}

// A process that echoes one SEQPACKET message per request: the Unix-socket round trip.
struct Echo {
    int fd = -1;
    pid_t pid = -1;
    Echo() {
        int sv[2];
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
        pid = fork();
        if (pid == 0) {
            close(sv[0]);
            char buf[64];
            for (;;) {
                ssize_t n = read(sv[1], buf, sizeof buf);
                if (n <= 0) _exit(0);
                if (write(sv[1], buf, static_cast<size_t>(n)) != n) _exit(0);
            }
        }
        close(sv[1]);
        fd = sv[0];
    }
    ~Echo() {
        close(fd);
        waitpid(pid, nullptr, 0);
    }
    void round_trip() {
        char buf[64] = {1};
        (void)!write(fd, buf, sizeof buf);
        (void)!read(fd, buf, sizeof buf);
    }
};

size_t parse_samples(int argc, char** argv) {
    size_t samples = 20000;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) samples = 500;
        if (std::strcmp(argv[i], "--samples") == 0 && i + 1 < argc) samples = std::strtoul(argv[++i], nullptr, 10);
    }
    return samples;
}

// The null call against the Unix-socket round trip, hot and with both sides asleep.
void bench_round_trips(cek::coredll::Connection& kernel, Echo& echo, size_t samples,
                       size_t cold_samples) {
    const uint64_t pause = 2'000'000;  // 2 ms: long enough for both sides to fall asleep
    auto null_call = [&] {
        cek::proto::NullRequest req{42};
        cek::proto::NullReply rep{};
        (void)kernel.call(req, rep);
    };
    auto socket_rt = [&] { echo.round_trip(); };
    Stats null_hot = measure(samples, null_call);
    Stats sock_hot = measure(samples, socket_rt);
    row("null round trip, kernel hot", null_hot, sock_hot, "unix socket round trip");
    Stats null_cold = measure(cold_samples, null_call, pause);
    Stats sock_cold = measure(cold_samples, socket_rt, pause);
    row("null round trip, both asleep", null_cold, sock_cold, "unix socket, both asleep");
}

// CreateFileMappingW+CloseHandle (new name, existing name) against memfd_create+ftruncate+close.
// Returns the mapping "bench-kept" (64K), which the caller closes.
HANDLE bench_create_mapping(size_t samples) {
    int counter = 0;
    auto create_close = [&] {
        char16_t name[32];
        std::string n = "bench-" + std::to_string(counter++);
        std::copy(n.begin(), n.end(), name);
        name[n.size()] = 0;
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 65536, name);
        CloseHandle(h);
    };
    auto floor_create_close = [&] {
        int fd = memfd_create("bench", MFD_CLOEXEC);
        (void)!ftruncate(fd, 65536);
        close(fd);
    };
    Stats floor_create = measure(samples, floor_create_close);
    row("CreateFileMappingW new named 64K + Close", measure(samples, create_close), floor_create,
        "memfd_create+ftruncate+close");

    HANDLE kept = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 65536, u"bench-kept");
    auto open_close = [&] {
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 0, u"bench-kept");
        CloseHandle(h);
    };
    row("CreateFileMappingW existing + Close", measure(samples, open_close), floor_create,
        "memfd_create+ftruncate+close");
    return kept;
}

// MapViewOfFile+UnmapViewOfFile of `kept` against mmap+munmap of a memfd, with the pages
// already mapped in this process and as the first view.
void bench_map_view(size_t samples, HANDLE kept) {
    void* first = MapViewOfFile(kept, FILE_MAP_ALL_ACCESS, 0, 0, 0);  // keeps the pages mapped
    auto map_unmap = [&] {
        void* p = MapViewOfFile(kept, FILE_MAP_ALL_ACCESS, 0, 0, 65536);
        UnmapViewOfFile(p);
    };
    int shm = memfd_create("bench-floor", MFD_CLOEXEC);
    (void)!ftruncate(shm, 65536);
    auto floor_map = [&] {
        void* p = mmap(nullptr, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
        munmap(p, 65536);
    };
    Stats floor_map_s = measure(samples, floor_map);
    row("MapViewOfFile+Unmap 64K, mapped here", measure(samples, map_unmap), floor_map_s,
        "mmap+munmap 64K");
    UnmapViewOfFile(first);
    row("MapViewOfFile+Unmap 64K, first view", measure(samples, map_unmap), floor_map_s,
        "mmap+munmap 64K");
    close(shm);
}

constexpr const char16_t* kBenchFile = u"\\Temp\\bench.bin";

// Writes the 64 MiB file \Temp\bench.bin through the kernel, 1 MiB (`mib`) at a time.
void write_bench_file(const std::vector<char>& mib) {
    const size_t file_size = 64u << 20;
    HANDLE f = CreateFileW(kBenchFile, GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0,
                           nullptr);
    for (size_t i = 0; i < file_size / mib.size(); ++i) {
        DWORD n = 0;
        WriteFile(f, mib.data(), static_cast<DWORD>(mib.size()), &n, nullptr);
    }
    CloseHandle(f);
}

// Calls on an open handle of the bench file against the same calls on a native descriptor.
void bench_file_calls(size_t samples, const std::string& host, std::vector<char>& mib) {
    HANDLE f = CreateFileW(kBenchFile, GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0,
                           nullptr);
    int fd = open(host.c_str(), O_RDWR | O_CLOEXEC);
    char page[4096] = {};
    row("GetFileSize", measure(samples, [&] { GetFileSize(f, nullptr); }),
        measure(samples, [&] { struct stat st; fstat(fd, &st); }), "fstat");
    row("SetFilePointer", measure(samples, [&] { SetFilePointer(f, 4096, nullptr, FILE_BEGIN); }),
        measure(samples, [&] { lseek(fd, 4096, SEEK_SET); }), "lseek");
    row("SetFilePointer + ReadFile 4K", measure(samples, [&] {
            DWORD n;
            SetFilePointer(f, 8192, nullptr, FILE_BEGIN);
            ReadFile(f, page, sizeof page, &n, nullptr);
        }),
        measure(samples, [&] { lseek(fd, 8192, SEEK_SET); (void)!read(fd, page, sizeof page); }),
        "lseek+read 4K");
    row("SetFilePointer + WriteFile 4K", measure(samples, [&] {
            DWORD n;
            SetFilePointer(f, 8192, nullptr, FILE_BEGIN);
            WriteFile(f, page, sizeof page, &n, nullptr);
        }),
        measure(samples, [&] { lseek(fd, 8192, SEEK_SET); (void)!write(fd, page, sizeof page); }),
        "lseek+write 4K");
    size_t big = std::max<size_t>(samples / 20, 64);
    Stats read_mib = measure(big, [&] {
        DWORD n;
        SetFilePointer(f, 0, nullptr, FILE_BEGIN);
        ReadFile(f, mib.data(), static_cast<DWORD>(mib.size()), &n, nullptr);
    });
    Stats pread_mib = measure(big, [&] { (void)!pread(fd, mib.data(), mib.size(), 0); });
    row("ReadFile 1 MiB (page cache)", read_mib, pread_mib, "pread 1 MiB");
    CloseHandle(f);
    close(fd);
}

// Files: a 64 MiB file in the CE root's \Temp, and the same file opened natively.
void bench_files(size_t samples, const char* root) {
    std::string host = std::string(root) + "/Temp/bench.bin";
    std::vector<char> mib(1u << 20, 'x');
    write_bench_file(mib);
    auto file_open_close = [&] {
        HANDLE h = CreateFileW(kBenchFile, GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                               0, nullptr);
        CloseHandle(h);
    };
    auto native_open_close = [&] { close(open(host.c_str(), O_RDONLY | O_CLOEXEC)); };
    row("CreateFileW existing + CloseHandle", measure(samples, file_open_close),
        measure(samples, native_open_close), "open+close");
    bench_file_calls(samples, host, mib);
    DeleteFileW(kBenchFile);
}

}  // namespace

int main(int argc, char** argv) {
    const size_t samples = parse_samples(argc, argv);
    auto& kernel = cek::coredll::Connection::instance();
    if (!kernel.ensure_connected()) {
        std::fprintf(stderr, "cek_bench: no kernel: %s\n", kernel.connect_failure());
        return 1;
    }
    const size_t cold_samples = std::max<size_t>(samples / 20, 50);
    Echo echo;

    std::printf("samples: %zu hot, %zu cold; times in microseconds\n", samples, cold_samples);
    std::printf("%-44s %9s %9s   %-28s %9s %8s\n", "call", "median", "p99", "baseline", "median",
                "ratio");
    bench_round_trips(kernel, echo, samples, cold_samples);

    HANDLE kept = bench_create_mapping(samples);
    bench_map_view(samples, kept);
    CloseHandle(kept);

    const char* root = std::getenv("CEK_ROOT");
    if (root == nullptr) {
        std::printf("(set CEK_ROOT to the kernel's root to measure file calls)\n");
        return 0;
    }
    bench_files(samples, root);
    return 0;
}
