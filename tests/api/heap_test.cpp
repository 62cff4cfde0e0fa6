// Heaps and local memory: one test per behaviour, with the exact error codes.
#include <catch2/catch.hpp>

#include <windows.h>

#include <malloc.h>

#include <cstring>
#include <thread>
#include <vector>

TEST_CASE("HeapAlloc returns usable blocks; HEAP_ZERO_MEMORY zeroes them", "[api][heap]") {
    HANDLE h = HeapCreate(0, 0, 0);
    REQUIRE(h != nullptr);
    auto* p = static_cast<unsigned char*>(HeapAlloc(h, HEAP_ZERO_MEMORY, 1000));
    REQUIRE(p != nullptr);
    bool all_zero = true;
    for (int i = 0; i < 1000; ++i) all_zero = all_zero && p[i] == 0;
    CHECK(all_zero);
    std::memset(p, 0xAB, 1000);
    CHECK(HeapSize(h, 0, p) == 1000);
    CHECK(HeapValidate(h, 0, p));
    CHECK(HeapFree(h, 0, p));
    CHECK(HeapDestroy(h));
}

TEST_CASE("a zero-byte block is a distinct valid block", "[api][heap]") {
    HANDLE h = GetProcessHeap();
    void* a = HeapAlloc(h, 0, 0);
    void* b = HeapAlloc(h, 0, 0);
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    CHECK(a != b);
    CHECK(HeapSize(h, 0, a) == 0);
    CHECK(HeapFree(h, 0, a));
    CHECK(HeapFree(h, 0, b));
}

TEST_CASE("HeapReAlloc keeps the contents and zeroes growth on request", "[api][heap]") {
    HANDLE h = GetProcessHeap();
    // unsigned char: Catch would print a char* as a C string (these blocks have no terminator).
    auto* p = static_cast<unsigned char*>(HeapAlloc(h, 0, 16));
    REQUIRE(p != nullptr);
    std::memcpy(p, "0123456789abcdef", 16);
    auto* q = static_cast<unsigned char*>(HeapReAlloc(h, HEAP_ZERO_MEMORY, p, 100000));
    REQUIRE(q != nullptr);
    CHECK(std::memcmp(q, "0123456789abcdef", 16) == 0);
    bool zero = true;
    for (int i = 16; i < 100000; ++i) zero = zero && q[i] == 0;
    CHECK(zero);
    CHECK(HeapSize(h, 0, q) == 100000);
    auto* r = static_cast<unsigned char*>(HeapReAlloc(h, 0, q, 8));  // shrinking
    REQUIRE(r != nullptr);
    CHECK(std::memcmp(r, "01234567", 8) == 0);
    CHECK(HeapSize(h, 0, r) == 8);
    CHECK(HeapFree(h, 0, r));
}

TEST_CASE("HEAP_REALLOC_IN_PLACE_ONLY never moves the block", "[api][heap]") {
    HANDLE h = HeapCreate(0, 0, 0);
    void* p = HeapAlloc(h, 0, 64);
    REQUIRE(p != nullptr);
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 32) == p);  // shrink: in place
    CHECK(HeapSize(h, 0, p) == 32);
    SetLastError(0);
    CHECK(HeapReAlloc(h, HEAP_REALLOC_IN_PLACE_ONLY, p, 1 << 20) == nullptr);
    CHECK(GetLastError() == ERROR_NOT_ENOUGH_MEMORY);
    CHECK(HeapSize(h, 0, p) == 32);  // the failed call changed nothing
    CHECK(HeapDestroy(h));
}

TEST_CASE("pointers that are no block of the heap fail with ERROR_INVALID_PARAMETER",
          "[api][heap]") {
    HANDLE a = HeapCreate(0, 0, 0);
    HANDLE b = HeapCreate(0, 0, 0);
    void* p = HeapAlloc(a, 0, 32);
    int local = 0;
    SetLastError(0);
    CHECK_FALSE(HeapFree(b, 0, p));  // another heap's block
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK_FALSE(HeapFree(a, 0, &local));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK(HeapSize(a, 0, static_cast<char*>(p) + 1) == static_cast<SIZE_T>(-1));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK(HeapReAlloc(a, 0, &local, 8) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK_FALSE(HeapValidate(a, 0, &local));
    CHECK(HeapFree(a, 0, p));
    SetLastError(0);
    CHECK_FALSE(HeapFree(a, 0, p));  // twice
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(HeapFree(a, 0, nullptr));
    CHECK(HeapDestroy(a));
    CHECK(HeapDestroy(b));
}

TEST_CASE("bad heap handles fail with ERROR_INVALID_HANDLE", "[api][heap]") {
    HANDLE h = HeapCreate(0, 0, 0);
    CHECK(HeapDestroy(h));
    int bogus = 0;
    SetLastError(0);
    CHECK(HeapAlloc(h, 0, 8) == nullptr);  // destroyed
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    CHECK(HeapAlloc(&bogus, 0, 8) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    CHECK_FALSE(HeapDestroy(h));
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    CHECK_FALSE(HeapFree(nullptr, 0, nullptr));
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK_FALSE(HeapValidate(h, 0, nullptr));
    SetLastError(0);
    CHECK_FALSE(HeapDestroy(GetProcessHeap()));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("flags CE does not know fail with ERROR_INVALID_PARAMETER", "[api][heap]") {
    SetLastError(0);
    CHECK(HeapCreate(HEAP_GENERATE_EXCEPTIONS, 0, 0) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK(HeapCreate(0, 4096, 1024) == nullptr);  // initial above maximum
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK(HeapAlloc(GetProcessHeap(), HEAP_GENERATE_EXCEPTIONS, 8) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("a heap with a maximum size refuses to grow past it", "[api][heap]") {
    HANDLE h = HeapCreate(0, 0, 4096);
    REQUIRE(h != nullptr);
    void* a = HeapAlloc(h, 0, 3000);
    REQUIRE(a != nullptr);
    SetLastError(0);
    CHECK(HeapAlloc(h, 0, 2000) == nullptr);
    CHECK(GetLastError() == ERROR_NOT_ENOUGH_MEMORY);
    CHECK(HeapFree(h, 0, a));
    CHECK(HeapAlloc(h, 0, 2000) != nullptr);  // room again
    CHECK(HeapDestroy(h));
}

extern "C" size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));

namespace {

// Bytes malloc has handed out and not had back. A sanitizer replaces malloc, and its allocator
// does not feed mallinfo2: ask the sanitizer then (the symbol is weak, null without one).
size_t allocated_bytes() {
    if (&__sanitizer_get_current_allocated_bytes != nullptr)
        return __sanitizer_get_current_allocated_bytes();
    return mallinfo2().uordblks;
}

}  // namespace

TEST_CASE("HeapDestroy frees every block the heap still owns", "[api][heap]") {
    // Measured with no test macro in between: the reporter allocates too.
    const size_t before = allocated_bytes();
    HANDLE h = HeapCreate(0, 0, 0);
    bool allocated = h != nullptr;
    for (int i = 0; i < 100 && allocated; ++i) allocated = HeapAlloc(h, 0, 10000) != nullptr;
    const size_t during = allocated_bytes();
    const BOOL destroyed = HeapDestroy(h);
    const size_t after = allocated_bytes();
    REQUIRE(allocated);
    CHECK(destroyed);
    CHECK(during >= before + 100 * 10000);
    CHECK(after < before + 10000);  // all of it went back to malloc
}

TEST_CASE("threads allocate and free on one heap concurrently", "[api][heap]") {
    HANDLE h = HeapCreate(0, 0, 0);
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5000; ++i) {
                auto* p = static_cast<int*>(HeapAlloc(h, 0, sizeof(int) * 4));
                if (p == nullptr) return;
                p[0] = t;
                if (HeapSize(h, 0, p) != sizeof(int) * 4 || p[0] != t || !HeapFree(h, 0, p)) return;
            }
            ok[t] = 1;
        });
    }
    for (auto& th : threads) th.join();
    CHECK(ok == std::vector<int>(4, 1));
    CHECK(HeapDestroy(h));
}

TEST_CASE("LocalAlloc, LocalReAlloc, LocalSize and LocalFree use the process heap",
          "[api][heap]") {
    auto* p = static_cast<unsigned char*>(LocalAlloc(LPTR, 32));
    REQUIRE(p != nullptr);
    CHECK(p[0] == 0);
    CHECK(p[31] == 0);
    CHECK(LocalSize(p) == 32);
    CHECK(HeapValidate(GetProcessHeap(), 0, p));
    p = static_cast<unsigned char*>(LocalReAlloc(p, 100000, LMEM_MOVEABLE | LMEM_ZEROINIT));
    REQUIRE(p != nullptr);
    CHECK(p[99999] == 0);
    CHECK(LocalFree(p) == nullptr);
    CHECK(LocalFree(nullptr) == nullptr);
}

TEST_CASE("local memory errors", "[api][heap]") {
    int bogus = 0;
    SetLastError(0);
    CHECK(LocalAlloc(LMEM_MOVEABLE, 8) == nullptr);  // CE has no moveable memory
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(0);
    CHECK(LocalFree(&bogus) == &bogus);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    SetLastError(0);
    CHECK(LocalSize(&bogus) == 0);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    void* p = LocalAlloc(LMEM_FIXED, 16);
    SetLastError(0);
    CHECK(LocalReAlloc(p, 1 << 20, 0) == nullptr);  // not moveable: in place only
    CHECK(GetLastError() == ERROR_NOT_ENOUGH_MEMORY);
    CHECK(LocalFree(p) == nullptr);
}
