// Critical sections: CE's layout, recursion, try-enter and mutual exclusion under contention.
#include <catch2/catch.hpp>

#include <windows.h>

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

TEST_CASE("CRITICAL_SECTION has CE's fields in CE's order", "[api][cs]") {
    CHECK(offsetof(CRITICAL_SECTION, LockCount) == 0);
    CHECK(offsetof(CRITICAL_SECTION, OwnerThread) < offsetof(CRITICAL_SECTION, hCrit));
    CHECK(offsetof(CRITICAL_SECTION, hCrit) < offsetof(CRITICAL_SECTION, needtrap));
    CHECK(offsetof(CRITICAL_SECTION, needtrap) < offsetof(CRITICAL_SECTION, dwContentions));
}

TEST_CASE("a critical section is recursive and records its owner", "[api][cs]") {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    CHECK(cs.OwnerThread == nullptr);
    CHECK(cs.hCrit != nullptr);
    EnterCriticalSection(&cs);
    EnterCriticalSection(&cs);
    CHECK(TryEnterCriticalSection(&cs));
    CHECK(cs.LockCount == 3);
    CHECK(reinterpret_cast<uintptr_t>(cs.OwnerThread) == GetCurrentThreadId());
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    CHECK(cs.LockCount == 1);
    LeaveCriticalSection(&cs);
    CHECK(cs.LockCount == 0);
    CHECK(cs.OwnerThread == nullptr);
    DeleteCriticalSection(&cs);
    CHECK(cs.hCrit == nullptr);
}

TEST_CASE("TryEnterCriticalSection fails while another thread owns it", "[api][cs]") {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    EnterCriticalSection(&cs);
    BOOL other = TRUE;
    std::thread([&] { other = TryEnterCriticalSection(&cs); }).join();
    CHECK(other == FALSE);
    LeaveCriticalSection(&cs);
    std::thread([&] {
        other = TryEnterCriticalSection(&cs);
        if (other) LeaveCriticalSection(&cs);
    }).join();
    CHECK(other == TRUE);
    DeleteCriticalSection(&cs);
}

TEST_CASE("LeaveCriticalSection by a thread that does not own it changes nothing", "[api][cs]") {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    EnterCriticalSection(&cs);
    std::thread([&] { LeaveCriticalSection(&cs); }).join();  // logged as an error
    CHECK(cs.LockCount == 1);
    CHECK(reinterpret_cast<uintptr_t>(cs.OwnerThread) == GetCurrentThreadId());
    LeaveCriticalSection(&cs);
    DeleteCriticalSection(&cs);
}

TEST_CASE("critical sections exclude each other under contention", "[api][cs]") {
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    long counter = 0;  // plain: only the lock protects it
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                EnterCriticalSection(&cs);
                EnterCriticalSection(&cs);  // recursion under contention
                if (inside.fetch_add(1) != 0) overlap = true;
                ++counter;
                inside.fetch_sub(1);
                LeaveCriticalSection(&cs);
                LeaveCriticalSection(&cs);
            }
        });
    for (auto& th : threads) th.join();
    CHECK_FALSE(overlap);
    CHECK(counter == 80000);
    CHECK(cs.needtrap == 0);
    CHECK(cs.OwnerThread == nullptr);
    DeleteCriticalSection(&cs);
}
