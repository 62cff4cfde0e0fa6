// VirtualAlloc(MEM_RESERVE | MEM_COMMIT) + VirtualFree(MEM_RELEASE) of 64 KiB against the host's
// mmap + munmap of the same size, in one process, with no kernel (slot reservations never leave
// the process). Each side runs in rounds, alternating, and keeps its best round; "touched" also
// writes one byte per page, which adds the page faults both sides pay. Prints ns per pair and
// the ratio. --quick: a few hundred pairs, for the smoke test (results checked, speed not).
// Figures: docs/performance.md, "Virtual memory".
#include <sys/mman.h>
#include <time.h>

#include <windows.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr size_t kSize = 64 << 10;
constexpr size_t kPage = 4096;

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void touch(volatile char* p, bool pages) {
    if (!pages) return;
    for (size_t i = 0; i < kSize; i += kPage) p[i] = 1;
}

double round_virtual(int n, bool pages) {
    const uint64_t start = now_ns();
    for (int i = 0; i < n; ++i) {
        auto* p = static_cast<char*>(VirtualAlloc(nullptr, kSize, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (p == nullptr) {
            std::fprintf(stderr, "VirtualAlloc failed: %u\n", GetLastError());
            std::exit(1);
        }
        touch(p, pages);
        if (!VirtualFree(p, 0, MEM_RELEASE)) {
            std::fprintf(stderr, "VirtualFree failed: %u\n", GetLastError());
            std::exit(1);
        }
    }
    return static_cast<double>(now_ns() - start) / n;
}

double round_host(int n, bool pages) {
    const uint64_t start = now_ns();
    for (int i = 0; i < n; ++i) {
        void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("mmap");
            std::exit(1);
        }
        touch(static_cast<char*>(p), pages);
        ::munmap(p, kSize);
    }
    return static_cast<double>(now_ns() - start) / n;
}

}  // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const int n = quick ? 200 : 20000;
    const int rounds = quick ? 1 : 7;
    for (bool pages : {false, true}) {
        double best_virtual = 1e18, best_host = 1e18;
        for (int r = 0; r < rounds; ++r) {
            best_virtual = std::min(best_virtual, round_virtual(n, pages));
            best_host = std::min(best_host, round_host(n, pages));
        }
        std::printf("64 KiB %-9s VirtualAlloc+VirtualFree %.0f ns  mmap+munmap %.0f ns  ratio %.2f\n",
                    pages ? "touched" : "untouched", best_virtual, best_host,
                    best_virtual / best_host);
    }
    return 0;
}
