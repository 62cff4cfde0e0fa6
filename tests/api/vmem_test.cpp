// Virtual memory in the process: every rule of docs/semantics/vmem.md that needs no kernel, with
// CE 5's exact error codes (ce-kernel-objects.md §4), and the host MMU's enforcement seen from
// forked children. Huge reservations need a kernel: tests/multiproc/vmem_test.cpp.
#include <catch2/catch.hpp>

#include <windows.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {

constexpr SIZE_T kPage = 4096;
constexpr SIZE_T kBlock = 64 << 10;
constexpr SIZE_T kSlot = 32 << 20;

char* at(LPVOID p, SIZE_T offset = 0) { return static_cast<char*>(p) + offset; }
// The same address as a plain pointer: Catch2 prints a char* as a string, which would read
// past the committed pages.
LPVOID addr(LPVOID p, SIZE_T offset) { return at(p, offset); }

DWORD error_of_alloc(LPVOID address, SIZE_T size, DWORD type, DWORD protect) {
    SetLastError(0);
    LPVOID p = VirtualAlloc(address, size, type, protect);
    if (p != nullptr) {
        // A partly committed reservation must be decommitted before its release (§4.3).
        REQUIRE(VirtualFree(p, size, MEM_DECOMMIT));
        REQUIRE(VirtualFree(p, 0, MEM_RELEASE));
        return 0;
    }
    return GetLastError();
}

// Runs `touch` in a forked child and returns the signal that ended it (0 when it exited).
template <class Touch>
int signal_of(Touch touch) {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::signal(SIGSEGV, SIG_DFL);  // not the test framework's handler: die of the fault
        ::signal(SIGBUS, SIG_DFL);
        touch();
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

MEMORY_BASIC_INFORMATION query(LPCVOID p) {
    MEMORY_BASIC_INFORMATION info{};
    REQUIRE(VirtualQuery(p, &info, sizeof info) == sizeof info);
    return info;
}

}  // namespace

TEST_CASE("VirtualAlloc reserves 64 KiB units and commits zero-filled 4 KiB pages", "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, 10000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % kBlock == 0);
    bool zero = true;
    for (SIZE_T i = 0; i < 3 * kPage; ++i) zero = zero && at(p)[i] == 0;
    CHECK(zero);
    std::memset(p, 0x5A, 10000);
    MEMORY_BASIC_INFORMATION info = query(p);
    CHECK(info.BaseAddress == p);
    CHECK(info.AllocationBase == p);
    CHECK(info.AllocationProtect == PAGE_NOACCESS);
    CHECK(info.RegionSize == 3 * kPage);  // 10000 bytes: three pages committed
    CHECK(info.State == MEM_COMMIT);
    CHECK(info.Protect == PAGE_READWRITE);
    CHECK(info.Type == MEM_PRIVATE);
    info = query(at(p, 3 * kPage));
    CHECK(info.State == MEM_RESERVE);
    CHECK(info.RegionSize == kBlock - 3 * kPage);
    CHECK(info.AllocationBase == p);
    CHECK(VirtualFree(p, 0, MEM_RELEASE) == FALSE);  // partly committed
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(VirtualFree(p, 3 * kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
    CHECK(query(p).State == MEM_FREE);
}

TEST_CASE("a decommitted page is zero again when committed anew", "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    REQUIRE(VirtualAlloc(at(p, kPage), kPage, MEM_COMMIT, PAGE_READWRITE) == addr(p, kPage));
    std::memset(at(p, kPage), 0x77, kPage);
    // Committing committed pages keeps their contents.
    REQUIRE(VirtualAlloc(at(p, kPage), kPage, MEM_COMMIT, PAGE_READWRITE) == addr(p, kPage));
    CHECK(at(p, kPage)[100] == 0x77);
    CHECK(VirtualFree(at(p, kPage), 1, MEM_DECOMMIT));
    CHECK(query(at(p, kPage)).State == MEM_RESERVE);
    REQUIRE(VirtualAlloc(at(p, kPage + 10), 1, MEM_COMMIT, PAGE_READWRITE) == addr(p, kPage));
    bool zero = true;
    for (SIZE_T i = 0; i < kPage; ++i) zero = zero && at(p, kPage)[i] == 0;
    CHECK(zero);
    CHECK(VirtualFree(p, kBlock, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_CASE("VirtualAlloc step 1: size 0, size of 32 MiB or more, kernel addresses",
          "[api][vmem]") {
    CHECK(error_of_alloc(nullptr, 0, MEM_RESERVE, PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(nullptr, kSlot, MEM_RESERVE, PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(nullptr, kSlot, MEM_COMMIT, PAGE_NOACCESS) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(nullptr, kSlot, MEM_RESERVE | MEM_TOP_DOWN, PAGE_NOACCESS) ==
          ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(reinterpret_cast<LPVOID>(uintptr_t{0xFFFF800000000000}), kPage,
                         MEM_RESERVE, PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
}

TEST_CASE("VirtualAlloc step 2: protections; WRITECOPY is invalid here", "[api][vmem]") {
    for (DWORD bad : {DWORD{0}, DWORD{0x03}, DWORD{PAGE_WRITECOPY}, DWORD{PAGE_EXECUTE_WRITECOPY},
                      DWORD{PAGE_NOACCESS | PAGE_GUARD}, DWORD{PAGE_NOACCESS | PAGE_NOCACHE},
                      DWORD{0x400}, DWORD{PAGE_GUARD}}) {
        CAPTURE(bad);
        CHECK(error_of_alloc(nullptr, kPage, MEM_RESERVE | MEM_COMMIT, bad) ==
              ERROR_INVALID_PARAMETER);
    }
    for (DWORD good : {DWORD{PAGE_NOACCESS}, DWORD{PAGE_READONLY}, DWORD{PAGE_READWRITE},
                       DWORD{PAGE_EXECUTE}, DWORD{PAGE_EXECUTE_READ}, DWORD{PAGE_EXECUTE_READWRITE},
                       DWORD{PAGE_READWRITE | PAGE_GUARD}, DWORD{PAGE_READONLY | PAGE_NOCACHE}}) {
        CAPTURE(good);
        CHECK(error_of_alloc(nullptr, kPage, MEM_RESERVE | MEM_COMMIT, good) == 0);
    }
}

TEST_CASE("VirtualAlloc step 3: an address outside the slot is an unused section",
          "[api][vmem]") {
    static char outside[3 * kPage];
    CHECK(error_of_alloc(outside + kPage, kPage, MEM_RESERVE, PAGE_READWRITE) ==
          ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(reinterpret_cast<LPVOID>(uintptr_t{0x10000}), kPage, MEM_COMMIT,
                         PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
}

TEST_CASE("VirtualAlloc step 4: explicit addresses round down to 64 KiB; reserved blocks refuse",
          "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, 2 * kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    REQUIRE(VirtualFree(p, 0, MEM_RELEASE));
    // The same place again, asked for by an address inside its second block.
    LPVOID q = VirtualAlloc(at(p, kBlock + 123), kPage, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(q == addr(p, kBlock));
    // Overlapping it: refused, whether from below or inside.
    CHECK(error_of_alloc(p, kBlock + 1, MEM_RESERVE, PAGE_NOACCESS) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(at(q, kPage), kPage, MEM_RESERVE, PAGE_NOACCESS) ==
          ERROR_INVALID_PARAMETER);
    // Both MEM_MAPPED and MEM_IMAGE.
    CHECK(error_of_alloc(nullptr, kPage, MEM_RESERVE | MEM_MAPPED | MEM_IMAGE, PAGE_NOACCESS) ==
          ERROR_INVALID_PARAMETER);
    // MEM_COMMIT with a NULL address reserves too.
    LPVOID c = VirtualAlloc(nullptr, kPage, MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(c != nullptr);
    at(c)[0] = 1;
    CHECK(query(c).AllocationBase == c);
    CHECK(query(c).RegionSize == kPage);  // one page committed in a 64 KiB reservation
    CHECK_FALSE(VirtualFree(c, 0, MEM_RELEASE));
    CHECK(VirtualFree(c, kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(c, 0, MEM_RELEASE));
    CHECK(VirtualFree(q, 0, MEM_RELEASE));
}

TEST_CASE("VirtualAlloc step 5: commits stay inside one reservation", "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    CHECK(error_of_alloc(at(p, kBlock - kPage), 2 * kPage, MEM_COMMIT, PAGE_READWRITE) ==
          ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(at(p, kPage), kPage, MEM_RESET, PAGE_READWRITE) ==
          ERROR_INVALID_PARAMETER);
    CHECK(error_of_alloc(at(p, kPage), kPage, 0, PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
    // A commit outside any reservation (the block after this one is free).
    LPVOID after = at(p, kBlock);
    if (query(after).State == MEM_FREE)
        CHECK(error_of_alloc(after, kPage, MEM_COMMIT, PAGE_READWRITE) == ERROR_INVALID_PARAMETER);
    // Already committed pages just take the new protection.
    REQUIRE(VirtualAlloc(p, kPage, MEM_COMMIT, PAGE_READWRITE) == p);
    REQUIRE(VirtualAlloc(p, kPage, MEM_COMMIT, PAGE_READONLY) == p);
    CHECK(query(p).Protect == PAGE_READONLY);
    CHECK(VirtualFree(p, kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_CASE("VirtualFree: CE 5's refusals", "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, 2 * kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    auto error_of_free = [](LPVOID a, SIZE_T size, DWORD type) {
        SetLastError(0);
        return VirtualFree(a, size, type) ? DWORD{0} : GetLastError();
    };
    CHECK(error_of_free(nullptr, 0, MEM_RELEASE) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_free(p, 0, 0) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_free(p, 0, MEM_RELEASE | MEM_DECOMMIT) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_free(p, kPage, MEM_RELEASE) == ERROR_INVALID_PARAMETER);   // size not 0
    CHECK(error_of_free(at(p, kBlock), 0, MEM_RELEASE) == ERROR_INVALID_PARAMETER);  // not base
    CHECK(error_of_free(p, 0, MEM_DECOMMIT) == ERROR_INVALID_PARAMETER);  // desktop allows it
    CHECK(error_of_free(at(p, kBlock), kBlock + 1, MEM_DECOMMIT) == ERROR_INVALID_PARAMETER);
    static char outside[kPage];
    CHECK(error_of_free(outside, kPage, MEM_DECOMMIT) == ERROR_INVALID_PARAMETER);
    // Decommitting pages that were never committed is fine; so is releasing all-reserved.
    CHECK(error_of_free(at(p, kPage), kPage, MEM_DECOMMIT) == 0);
    REQUIRE(VirtualAlloc(p, 2 * kBlock, MEM_COMMIT, PAGE_READWRITE) == p);
    CHECK(error_of_free(p, 0, MEM_RELEASE) == 0);  // all committed: one state
}

TEST_CASE("VirtualProtect: CE 5's order of checks and the first page's old protection",
          "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    REQUIRE(VirtualAlloc(p, kPage, MEM_COMMIT, PAGE_READONLY) == p);
    REQUIRE(VirtualAlloc(at(p, kPage), kPage, MEM_COMMIT, PAGE_READWRITE) == addr(p, kPage));
    DWORD old = 0;
    auto error_of_protect = [](LPVOID a, SIZE_T size, DWORD protect, PDWORD o) {
        SetLastError(0);
        return VirtualProtect(a, size, protect, o) ? DWORD{0} : GetLastError();
    };
    CHECK(error_of_protect(p, kPage, PAGE_WRITECOPY, &old) == ERROR_NOT_SUPPORTED);
    CHECK(error_of_protect(p, kPage, PAGE_EXECUTE_WRITECOPY, &old) == ERROR_NOT_SUPPORTED);
    CHECK(error_of_protect(nullptr, 0, 0x03, nullptr) == ERROR_INVALID_PARAMETER);
    // The protection comes first: WRITECOPY with a NULL pointer is still "not supported".
    CHECK(error_of_protect(nullptr, 0, PAGE_WRITECOPY, nullptr) == ERROR_NOT_SUPPORTED);
    CHECK(error_of_protect(p, kPage, PAGE_READWRITE, nullptr) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_protect(p, 0, PAGE_READWRITE, &old) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_protect(nullptr, kPage, PAGE_READWRITE, &old) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_protect(p, 3 * kPage, PAGE_READWRITE, &old) == ERROR_INVALID_PARAMETER);
    CHECK(error_of_protect(at(p, kBlock - kPage), 2 * kPage, PAGE_READWRITE, &old) ==
          ERROR_INVALID_PARAMETER);
    CHECK(error_of_protect(p, 2 * kPage, PAGE_EXECUTE_READWRITE, &old) == 0);
    CHECK(old == PAGE_READONLY);  // the first page's
    at(p)[0] = 1;                 // writable now
    CHECK(query(p).RegionSize == 2 * kPage);
    CHECK(query(p).Protect == PAGE_EXECUTE_READWRITE);
    CHECK(VirtualFree(p, 2 * kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_CASE("VirtualQuery: length, NULL, free regions, unused sections, heaps", "[api][vmem]") {
    MEMORY_BASIC_INFORMATION info{};
    LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    SetLastError(0);
    CHECK(VirtualQuery(p, &info, 27) == 0);
    CHECK(GetLastError() == ERROR_BAD_LENGTH);
    CHECK(VirtualQuery(p, &info, sizeof info - 1) == 0);
    CHECK(GetLastError() == ERROR_BAD_LENGTH);
    SetLastError(0);
    CHECK(VirtualQuery(nullptr, &info, sizeof info) == 0);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    // Reserved: MEM_RESERVE, AllocationProtect PAGE_NOACCESS whatever was asked.
    info = query(at(p, 5));
    CHECK(info.BaseAddress == p);
    CHECK(info.State == MEM_RESERVE);
    CHECK(info.RegionSize == kBlock);
    CHECK(info.AllocationProtect == PAGE_NOACCESS);
    REQUIRE(VirtualFree(p, 0, MEM_RELEASE));
    // Free: MEM_FREE, Type 0, no allocation base, counted to the next reservation or slot end.
    info = query(p);
    CHECK(info.State == MEM_FREE);
    CHECK(info.Type == 0);
    CHECK(info.AllocationBase == nullptr);
    CHECK(info.RegionSize >= kBlock);
    CHECK(reinterpret_cast<uintptr_t>(p) + info.RegionSize <=
          (reinterpret_cast<uintptr_t>(p) & ~uintptr_t{kSlot - 1}) + kSlot);
    // A heap block lies in committed, read-write, private memory.
    HANDLE heap = HeapCreate(0, 0, 0);
    void* block = HeapAlloc(heap, 0, 100);
    REQUIRE(block != nullptr);
    info = query(block);
    CHECK(info.State == MEM_COMMIT);
    CHECK(info.Protect == PAGE_READWRITE);
    CHECK(info.Type == MEM_PRIVATE);
    CHECK(reinterpret_cast<uintptr_t>(block) - reinterpret_cast<uintptr_t>(info.BaseAddress) <
          info.RegionSize);
    HeapDestroy(heap);
}

TEST_CASE("VirtualQuery walks the slot region by region, consistently", "[api][vmem]") {
    LPVOID a = VirtualAlloc(nullptr, 3 * kBlock, MEM_RESERVE, PAGE_NOACCESS);
    LPVOID b = VirtualAlloc(nullptr, kBlock, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READONLY);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(b > a);  // top-down lands above the bottom-up one
    REQUIRE(VirtualAlloc(at(a, kBlock), 2 * kPage, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    const uintptr_t slot = reinterpret_cast<uintptr_t>(a) & ~uintptr_t{kSlot - 1};
    uintptr_t cursor = slot + kPage;
    size_t regions = 0;
    bool saw_guard = false, saw_b = false;
    while (cursor < slot + kSlot) {
        MEMORY_BASIC_INFORMATION info = query(reinterpret_cast<LPVOID>(cursor));
        REQUIRE(reinterpret_cast<uintptr_t>(info.BaseAddress) == cursor);
        REQUIRE(info.RegionSize > 0);
        REQUIRE(info.RegionSize % kPage == 0);
        if (info.State == MEM_FREE) CHECK(info.Type == 0);
        else CHECK(info.Type == MEM_PRIVATE);
        saw_guard = saw_guard || info.Protect == (PAGE_READWRITE | PAGE_GUARD);
        saw_b = saw_b || (info.BaseAddress == b && info.State == MEM_COMMIT &&
                          info.Protect == PAGE_READONLY && info.RegionSize == kBlock);
        cursor += info.RegionSize;
        ++regions;
    }
    CHECK(cursor == slot + kSlot);  // the walk ends exactly at the slot's end
    CHECK(saw_guard);
    CHECK(saw_b);
    CHECK(regions >= 5);
    CHECK(VirtualFree(at(a, kBlock), 2 * kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    CHECK(VirtualFree(b, 0, MEM_RELEASE));
}

TEST_CASE("the host MMU enforces PAGE_NOACCESS, PAGE_GUARD and PAGE_READONLY", "[api][vmem]") {
    LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != nullptr);
    volatile char* none = at(VirtualAlloc(p, kPage, MEM_COMMIT, PAGE_NOACCESS));
    volatile char* guard = at(VirtualAlloc(at(p, kPage), kPage, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    volatile char* ro = at(VirtualAlloc(at(p, 2 * kPage), kPage, MEM_COMMIT, PAGE_READONLY));
    volatile char* rw = at(VirtualAlloc(at(p, 3 * kPage), kPage, MEM_COMMIT, PAGE_READWRITE));
    volatile char* reserved = at(p, 4 * kPage);
    REQUIRE((rw != nullptr));
    CHECK(signal_of([&] { (void)none[0]; }) == SIGSEGV);
    CHECK(signal_of([&] { (void)guard[10]; }) == SIGSEGV);
    CHECK(signal_of([&] { ro[0] = 1; }) == SIGSEGV);
    CHECK(signal_of([&] { (void)reserved[0]; }) == SIGSEGV);
    CHECK(signal_of([&] { rw[0] = ro[0]; }) == 0);  // reading read-only, writing read-write
    // A guard page taken off by VirtualProtect is an ordinary page.
    DWORD old = 0;
    REQUIRE(VirtualProtect(const_cast<char*>(guard), kPage, PAGE_READWRITE, &old));
    CHECK(old == (PAGE_READWRITE | PAGE_GUARD));
    CHECK(signal_of([&] { guard[10] = 1; }) == 0);
    REQUIRE(VirtualProtect(const_cast<char*>(rw), kPage, PAGE_NOACCESS, &old));
    CHECK(signal_of([&] { (void)rw[0]; }) == SIGSEGV);
    CHECK(VirtualFree(p, 4 * kPage, MEM_DECOMMIT));
    CHECK(VirtualFree(p, 0, MEM_RELEASE));
}

TEST_CASE("the 32 MiB slot runs out with ERROR_NOT_ENOUGH_MEMORY", "[api][vmem]") {
    std::vector<LPVOID> held;
    for (;;) {
        LPVOID p = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
        if (p == nullptr) break;
        held.push_back(p);
        REQUIRE(held.size() <= kSlot / kBlock);
    }
    CHECK(GetLastError() == ERROR_NOT_ENOUGH_MEMORY);
    // Block 0 is never handed out: at most 511 reservations, whatever else holds the slot now.
    CHECK(held.size() <= kSlot / kBlock - 1);
    CHECK(held.size() >= 400);
    // One block back: one allocation fits again, two blocks do not.
    REQUIRE(VirtualFree(held.back(), 0, MEM_RELEASE));
    held.pop_back();
    CHECK(error_of_alloc(nullptr, 2 * kBlock, MEM_RESERVE, PAGE_NOACCESS) ==
          ERROR_NOT_ENOUGH_MEMORY);
    LPVOID again = VirtualAlloc(nullptr, kBlock, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(again != nullptr);
    if (again != nullptr) held.push_back(again);
    for (LPVOID p : held) CHECK(VirtualFree(p, 0, MEM_RELEASE));
    // A 31 MiB reservation is in range of the slot once it is empty again.
    LPVOID big = VirtualAlloc(nullptr, kSlot - 2 * kBlock, MEM_RESERVE, PAGE_READWRITE);
    CHECK(big != nullptr);
    if (big != nullptr) CHECK(VirtualFree(big, 0, MEM_RELEASE));
}

TEST_CASE("threads allocating, touching and freeing at once get disjoint memory", "[api][vmem]") {
    constexpr int kThreads = 4;
    constexpr int kRounds = 300;
    std::vector<std::thread> threads;
    std::vector<int> failures(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < kRounds; ++i) {
                auto* p = static_cast<unsigned char*>(
                    VirtualAlloc(nullptr, kBlock, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
                if (p == nullptr) {
                    ++failures[t];
                    continue;
                }
                bool zero = p[0] == 0 && p[kBlock - 1] == 0;
                std::memset(p, t + 1, kBlock);
                std::this_thread::yield();
                bool mine = p[0] == t + 1 && p[kBlock - 1] == t + 1;
                if (!zero || !mine || !VirtualFree(p, 0, MEM_RELEASE)) ++failures[t];
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) CHECK(failures[t] == 0);
}
