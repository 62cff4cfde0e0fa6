// load_worker: one client process of the load test (tests/soak/load_test.cpp). Its threads
// hammer the kernel with a rotation of calls until a deadline, and check that every reply is
// the answer to their own request:
//   - Null calls carry a cookie (process, thread, counter) that the reply must echo;
//   - a named mapping per thread: created fresh, opened again by name (same handle, reported
//     as existing), two views at different offsets seeing the thread's own pattern;
//   - shared names every process opens ("load-shared-0..15"), one 8-byte cell per thread;
//   - a file per thread: written with the thread's pattern, read back, sized, closed.
// Protocol on stdin/stdout: prints "ready" once connected, waits for "go" (60 s at most), runs,
// then prints "done <calls> <failures> [first failure]".
//
// Usage: load_worker <index> <threads> <milliseconds>
#include <poll.h>
#include <unistd.h>

#include "coredll/client/connection.h"  // before <windows.h>: Win32Error names
#include <windows.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kSharedNames = 16;
constexpr uint32_t kSharedSize = 64 * 8 * 8;  // one cell per (process, thread) for 64 x 8
constexpr uint32_t kOwnSize = 64 * 1024;
constexpr uint32_t kFileBytes = 4096;

int g_index = 0;
std::atomic<uint64_t> g_calls{0};
std::atomic<uint64_t> g_failures{0};
std::mutex g_first_mutex;
std::string g_first;

std::u16string wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

class Hammer {
public:
    explicit Hammer(int thread) : t_(thread) {}

    void run(std::chrono::steady_clock::time_point deadline) {
        // Up to 64 processes of 8 threads: cells must fit the shared mappings.
        cell_ = static_cast<uint32_t>(g_index * 8 + t_) % (kSharedSize / 8);
        own_name_ = wide("load-" + std::to_string(g_index) + "-" + std::to_string(t_));
        file_name_ = wide("\\load\\p" + std::to_string(g_index) + "-t" + std::to_string(t_) + ".dat");
        while (std::chrono::steady_clock::now() < deadline) {
            ++counter_;
            switch (counter_ % 4) {
            case 0: null_call(); break;
            case 1: own_mapping(); break;
            case 2: shared_mapping(); break;
            case 3: own_file(); break;
            }
        }
    }

private:
    uint64_t cookie() const { return (uint64_t(g_index) << 40) | (uint64_t(t_) << 32) | counter_; }

    void failed(const std::string& what) {
        g_failures.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(g_first_mutex);
        if (g_first.empty())
            g_first = "thread " + std::to_string(t_) + " call " + std::to_string(counter_) + ": " +
                      what + " (error " + std::to_string(GetLastError()) + ")";
    }
    void count(uint64_t n) { g_calls.fetch_add(n, std::memory_order_relaxed); }

    void null_call() {
        cek::proto::NullRequest req{cookie()};
        cek::proto::NullReply rep{~req.cookie};
        auto st = cek::coredll::Connection::instance().call(req, rep);
        count(1);
        if (!st.delivered || st.failed) return failed("null call not answered");
        if (rep.cookie != req.cookie)
            failed("null reply cookie " + std::to_string(rep.cookie) + " for request " +
                   std::to_string(req.cookie));
    }

    void own_mapping() {
        SetLastError(0);
        HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, kOwnSize,
                                      own_name_.c_str());
        count(1);
        if (m == nullptr) return failed("create own mapping");
        if (GetLastError() == ERROR_ALREADY_EXISTS) failed("own mapping existed before creation");
        SetLastError(0);
        HANDLE again = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, kOwnSize,
                                          own_name_.c_str());
        count(1);
        if (again != m || GetLastError() != ERROR_ALREADY_EXISTS) failed("reopen own mapping by name");
        auto* whole = static_cast<uint64_t*>(MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0));
        auto* tail = static_cast<uint64_t*>(MapViewOfFile(m, FILE_MAP_READ, 0, 4096, 4096));
        count(2);
        if (whole == nullptr || tail == nullptr) {
            failed("map own mapping");
        } else {
            uint64_t c = cookie();
            for (uint32_t i = 0; i < kOwnSize / 8; i += 64) whole[i] = c + i;
            for (uint32_t i = 0; i < 4096 / 8; i += 64)
                if (tail[i] != c + 512 + i) {
                    failed("second view of own mapping sees " + std::to_string(tail[i]));
                    break;
                }
        }
        if (tail != nullptr && !UnmapViewOfFile(tail)) failed("unmap tail view");
        if (whole != nullptr && !UnmapViewOfFile(whole)) failed("unmap whole view");
        if (!CloseHandle(m)) failed("close own mapping");
        if (again != nullptr && !CloseHandle(again)) failed("close own mapping again");
        count(4);
    }

    void shared_mapping() {
        std::u16string name = wide("load-shared-" + std::to_string(counter_ / 4 % kSharedNames));
        HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, kSharedSize,
                                      name.c_str());
        count(1);
        if (m == nullptr) return failed("create shared mapping");
        auto* cells = static_cast<volatile uint64_t*>(MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0));
        count(1);
        if (cells == nullptr) {
            failed("map shared mapping");
        } else {
            uint64_t c = cookie();
            cells[cell_] = c;
            if (cells[cell_] != c) failed("shared cell overwritten");
            if (!UnmapViewOfFile(const_cast<uint64_t*>(cells))) failed("unmap shared view");
            count(1);
        }
        if (!CloseHandle(m)) failed("close shared mapping");
        count(1);
    }

    void own_file() {
        HANDLE f = CreateFileW(file_name_.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
        count(1);
        if (f == INVALID_HANDLE_VALUE) return failed("create own file");
        uint64_t out[kFileBytes / 8], in[kFileBytes / 8];
        for (uint32_t i = 0; i < kFileBytes / 8; ++i) out[i] = cookie() ^ i;
        DWORD n = 0;
        if (!WriteFile(f, out, kFileBytes, &n, nullptr) || n != kFileBytes) failed("write own file");
        if (SetFilePointer(f, 0, nullptr, FILE_BEGIN) != 0) failed("seek own file");
        if (!ReadFile(f, in, kFileBytes, &n, nullptr) || n != kFileBytes) failed("read own file");
        else if (std::memcmp(in, out, kFileBytes) != 0) failed("own file reads back other data");
        if (GetFileSize(f, nullptr) != kFileBytes) failed("own file size");
        if (!CloseHandle(f)) failed("close own file");
        count(5);
    }

    int t_;
    uint64_t counter_ = 0;
    uint32_t cell_ = 0;
    std::u16string own_name_, file_name_;
};

bool wait_for_go() {
    pollfd p{0, POLLIN, 0};
    if (::poll(&p, 1, 60'000) != 1) return false;
    std::string line;
    return std::getline(std::cin, line) && line == "go";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: load_worker <index> <threads> <milliseconds>\n");
        return 2;
    }
    g_index = std::atoi(argv[1]);
    int threads = std::atoi(argv[2]);
    auto run_for = std::chrono::milliseconds(std::atoll(argv[3]));
    if (!CreateDirectoryW(u"\\load", nullptr) && GetLastError() != ERROR_ALREADY_EXISTS) {
        std::cout << "done 0 1 cannot create \\load (error " << GetLastError() << ")" << std::endl;
        return 1;
    }
    std::cout << "ready" << std::endl;
    if (!wait_for_go()) return 1;
    auto deadline = std::chrono::steady_clock::now() + run_for;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([t, deadline] { Hammer(t).run(deadline); });
    for (auto& th : pool) th.join();
    std::cout << "done " << g_calls.load() << " " << g_failures.load();
    if (!g_first.empty()) std::cout << " " << g_first;
    std::cout << std::endl;
    return 0;
}
