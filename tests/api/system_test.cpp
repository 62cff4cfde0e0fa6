// Threads and ids, GetSystemInfo, GetVersionExW, GetTempPathW, FormatMessageW,
// OutputDebugStringW, libraries and the Interlocked calls.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <windows.h>

#include "coredll/client/log.h"
#include "errors_list.h"

TEST_CASE("GetCurrentThreadId is stable per thread and distinct between threads",
          "[api][system]") {
    DWORD main_id = GetCurrentThreadId();
    CHECK(main_id == GetCurrentThreadId());
    CHECK(main_id != 0);
    // CE 5: the id is the thread's handle value, which the kernel knows.
    CHECK(WaitForSingleObject(reinterpret_cast<HANDLE>(uintptr_t{main_id}), 0) == WAIT_TIMEOUT);
    std::vector<DWORD> ids(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&ids, i] { ids[i] = GetCurrentThreadId(); });
    for (auto& t : threads) t.join();
    std::set<DWORD> distinct(ids.begin(), ids.end());
    distinct.insert(main_id);
    CHECK(distinct.size() == 5);
}

TEST_CASE("GetCurrentThreadId in a fork child is the child's own, not its parent thread's "
          "cached id",
          "[api][system]") {
    const DWORD parent_id = GetCurrentThreadId();  // cached in this thread now
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const DWORD id = GetCurrentThreadId();
        ::_exit(id != 0 && id != parent_id ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(GetCurrentThreadId() == parent_id);
}

TEST_CASE("GetSystemInfo reports CE 5's page size, granularity and one processor",
          "[api][system]") {
    SYSTEM_INFO si;
    std::memset(&si, 0xCC, sizeof si);
    GetSystemInfo(&si);
    CHECK(si.dwPageSize == 4096);
    CHECK(si.dwAllocationGranularity == 65536);
    CHECK(si.dwNumberOfProcessors == 1);
    CHECK(si.dwActiveProcessorMask == 1);
    CHECK(si.lpMinimumApplicationAddress == reinterpret_cast<LPVOID>(0x10000));
    CHECK(si.lpMaximumApplicationAddress == reinterpret_cast<LPVOID>(0x7FFFFFFF));
#if defined(__x86_64__) || defined(__i386__)
    CHECK(si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_INTEL);
    CHECK(si.dwProcessorType == PROCESSOR_INTEL_PENTIUM);
#endif
}

TEST_CASE("GetVersionExW says CE 5.0", "[api][system]") {
    OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    REQUIRE(GetVersionExW(&v));
    CHECK(v.dwMajorVersion == 5);
    CHECK(v.dwMinorVersion == 0);
    CHECK(v.dwBuildNumber == 1400);
    CHECK(v.dwPlatformId == VER_PLATFORM_WIN32_CE);
    CHECK(v.szCSDVersion[0] == 0);
    v.dwOSVersionInfoSize = sizeof v - 1;
    SetLastError(0);
    CHECK_FALSE(GetVersionExW(&v));
    CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    SetLastError(0);
    CHECK_FALSE(GetVersionExW(nullptr));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("GetTempPathW gives \\Temp\\ or the size it needs", "[api][system]") {
    WCHAR buf[MAX_PATH];
    CHECK(GetTempPathW(MAX_PATH, buf) == 6);
    CHECK(std::u16string(buf) == u"\\Temp\\");
    CHECK(GetTempPathW(6, buf) == 7);  // no room for the NUL
    CHECK(GetTempPathW(0, nullptr) == 7);
}

TEST_CASE("FormatMessageW has a text for every error code the system reports", "[api][message]") {
    for (DWORD code : cek::test::kAllErrorCodes) {
        WCHAR buf[512];
        DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, code, 0, buf, 512, nullptr);
        INFO("code " << code);
        REQUIRE(n > 2);
        CHECK((buf[n - 2] == u'\r' && buf[n - 1] == u'\n' && buf[n] == 0));
    }
}

TEST_CASE("FormatMessageW allocates the buffer with LocalAlloc on request", "[api][message]") {
    LPWSTR text = nullptr;
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ALLOCATE_BUFFER |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             nullptr, ERROR_FILE_NOT_FOUND, 0, reinterpret_cast<LPWSTR>(&text), 0,
                             nullptr);
    REQUIRE(text != nullptr);
    CHECK(std::u16string(text, n) == u"The system cannot find the file specified.\r\n");
    CHECK(LocalSize(text) >= (n + 1) * sizeof(WCHAR));
    CHECK(LocalFree(text) == nullptr);
}

TEST_CASE("FormatMessageW errors", "[api][message]") {
    WCHAR buf[8];
    SetLastError(0);
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                         ERROR_FILE_NOT_FOUND, 0, buf, 8, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    WCHAR big[256];
    SetLastError(0);
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, 0xDEAD, 0, big, 256, nullptr) == 0);
    CHECK(GetLastError() == ERROR_MR_MID_NOT_FOUND);
    SetLastError(0);
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM, nullptr, ERROR_FILE_NOT_FOUND,
                         MAKELANGID(0x07, SUBLANG_DEFAULT), big, 256, nullptr) == 0);
    CHECK(GetLastError() == ERROR_RESOURCE_LANG_NOT_FOUND);
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                         ERROR_FILE_NOT_FOUND, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), big,
                         256, nullptr) > 0);
    SetLastError(0);
    CHECK(FormatMessageW(0, nullptr, 0, 0, big, 256, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

namespace {
DWORD format_va(LPWSTR out, DWORD size, LPCWSTR templ, ...) {
    va_list args;
    va_start(args, templ);
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_STRING, templ, 0, 0, out, size, &args);
    va_end(args);
    return n;
}
}  // namespace

TEST_CASE("FormatMessageW expands inserts from a va_list or an argument array",
          "[api][message]") {
    WCHAR buf[128];
    DWORD n = format_va(buf, 128, u"%1 has %2!d! items%n100%%%0 ignored", u"list", 42);
    CHECK(std::u16string(buf, n) == u"list has 42 items\r\n100%");
    DWORD_PTR array[] = {reinterpret_cast<DWORD_PTR>(u"x"), 255};
    n = FormatMessageW(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY, u"%2!x!-%1",
                       0, 0, buf, 128, reinterpret_cast<va_list*>(array));
    CHECK(std::u16string(buf, n) == u"ff-x");
    n = FormatMessageW(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_IGNORE_INSERTS, u"%1 stays", 0,
                       0, buf, 128, nullptr);
    CHECK(std::u16string(buf, n) == u"%1 stays");
    SetLastError(0);
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_STRING, u"%1", 0, 0, buf, 128, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);  // an insert and no arguments
}

TEST_CASE("OutputDebugStringW writes UTF-8 to the logger \"debug\" at info", "[api][system]") {
    std::ostringstream sink_text;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(sink_text);
    OutputDebugStringW(u"warm-up");  // creates the logger
    auto& logger = cek::coredll::debug_log().backend();
    CHECK(logger.level() == spdlog::level::info);
    logger.sinks().push_back(sink);
    sink->set_pattern("%l %v");
    OutputDebugStringW(u"caf\u00E9 \u20AC\r\n");
    logger.flush();
    logger.sinks().pop_back();
    CHECK(sink_text.str() == "info caf\xC3\xA9 \xE2\x82\xAC\n");
}

TEST_CASE("the Interlocked calls return CE's values", "[api][system]") {
    LONG v = 5;
    CHECK(InterlockedIncrement(&v) == 6);
    CHECK(InterlockedDecrement(&v) == 5);
    CHECK(InterlockedExchange(&v, 9) == 5);
    CHECK(v == 9);
    CHECK(InterlockedExchangeAdd(&v, 3) == 9);
    CHECK(v == 12);
    CHECK(InterlockedCompareExchange(&v, 1, 11) == 12);  // no match: unchanged
    CHECK(v == 12);
    CHECK(InterlockedCompareExchange(&v, 1, 12) == 12);
    CHECK(v == 1);
    LONG counter = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100000; ++i) InterlockedIncrement(&counter);
        });
    for (auto& th : threads) th.join();
    CHECK(counter == 400000);
}

TEST_CASE("LoadLibraryW finds host objects by CE name; GetProcAddress finds symbols",
          "[api][library]") {
    HMODULE m = LoadLibraryW(u"\\Windows\\cek_test_module.dll");  // libcek_test_module.so
    REQUIRE(m != nullptr);
    auto fn = reinterpret_cast<int (*)(int)>(
        reinterpret_cast<void*>(GetProcAddressW(m, u"cek_test_twice")));
    REQUIRE(fn != nullptr);
    CHECK(fn(21) == 42);
    CHECK(reinterpret_cast<void*>(GetProcAddressA(m, "cek_test_twice")) ==
          reinterpret_cast<void*>(fn));
    HMODULE again = LoadLibraryW(u"CEK_TEST_MODULE");  // case and missing extension
    CHECK(again == m);
    CHECK(FreeLibrary(again));
    CHECK(FreeLibrary(m));
    SetLastError(0);
    CHECK_FALSE(FreeLibrary(m));  // counted: the third is one too many
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
}

TEST_CASE("library errors", "[api][library]") {
    SetLastError(0);
    CHECK(LoadLibraryW(u"no_such_module.dll") == nullptr);
    CHECK(GetLastError() == ERROR_MOD_NOT_FOUND);
    SetLastError(0);
    CHECK(LoadLibraryW(nullptr) == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    HMODULE m = LoadLibraryW(u"cek_test_module.dll");
    REQUIRE(m != nullptr);
    SetLastError(0);
    CHECK(GetProcAddressW(m, u"no_such_symbol") == nullptr);
    CHECK(GetLastError() == ERROR_PROC_NOT_FOUND);
    SetLastError(0);
    CHECK(GetProcAddressW(m, reinterpret_cast<LPCWSTR>(uintptr_t{7})) == nullptr);  // ordinal
    CHECK(GetLastError() == ERROR_PROC_NOT_FOUND);
    int bogus = 0;
    SetLastError(0);
    CHECK(GetProcAddressW(reinterpret_cast<HMODULE>(&bogus), u"cek_test_twice") == nullptr);
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(FreeLibrary(m));
}
