// Process and thread ids, GetSystemInfo, GetVersionExW, GetTempPathW, OutputDebugStringW and the
// Interlocked calls.
//
// GetCurrentProcessId is the process id the kernel assigned at attach (the one cedump shows and
// the kernel's objects record), so it connects like any first call; with no kernel to be had it
// falls back to the host pid. GetCurrentThreadId lives with the threads (thread.cpp).
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "coredll/api/api.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_id.h"

using namespace cek::coredll;

namespace {

constexpr WCHAR kTempPath[] = {'\\', 'T', 'e', 'm', 'p', '\\', 0};

}  // namespace

extern "C" {

DWORD WINAPI GetCurrentProcessId(void) {
    Connection& c = Connection::instance();
    if (c.ensure_connected()) return c.hello().process_id;
    return static_cast<DWORD>(getpid());
}

// CE 5 is a uniprocessor system with 4 KiB pages and 64 KiB allocation granularity; the
// processor is reported as the family the host belongs to.
void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo) {
    if (lpSystemInfo == nullptr) return;
    SYSTEM_INFO& si = *lpSystemInfo;
    si = SYSTEM_INFO{};
#if defined(__x86_64__) || defined(__i386__)
    si.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_INTEL;
    si.dwProcessorType = PROCESSOR_INTEL_PENTIUM;
    si.wProcessorLevel = 6;
#elif defined(__aarch64__) || defined(__arm__)
    si.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM;
    si.dwProcessorType = PROCESSOR_ARM920;
    si.wProcessorLevel = 4;
#else
    si.wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
#endif
    si.dwPageSize = 4096;
    si.lpMinimumApplicationAddress = reinterpret_cast<LPVOID>(0x10000);
    si.lpMaximumApplicationAddress = reinterpret_cast<LPVOID>(0x7FFFFFFF);
    si.dwActiveProcessorMask = 1;
    si.dwNumberOfProcessors = 1;
    si.dwAllocationGranularity = 0x10000;
}

// The kernel's personality: CE 5.0, build 1400 (the 5.0 release), or CE 6.0 (build 0: an OEM
// image's build number is its own); platform VER_PLATFORM_WIN32_CE.
BOOL WINAPI GetVersionExW(LPOSVERSIONINFOW lpVersionInformation) {
    if (lpVersionInformation == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (lpVersionInformation->dwOSVersionInfoSize < sizeof(OSVERSIONINFOW)) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return FALSE;
    }
    const bool ce6 = ce6_rules();
    lpVersionInformation->dwMajorVersion = ce6 ? 6 : 5;
    lpVersionInformation->dwMinorVersion = 0;
    lpVersionInformation->dwBuildNumber = ce6 ? 0 : 1400;
    lpVersionInformation->dwPlatformId = VER_PLATFORM_WIN32_CE;
    std::fill(std::begin(lpVersionInformation->szCSDVersion),
              std::end(lpVersionInformation->szCSDVersion), WCHAR{0});
    return TRUE;
}

// "\Temp\" (CE's default; the folder exists in every object store). Returns the length without
// the NUL, or the size needed with the NUL when the buffer is too small.
DWORD WINAPI GetTempPathW(DWORD nBufferLength, LPWSTR lpBuffer) {
    constexpr DWORD kChars = std::size(kTempPath) - 1;
    if (lpBuffer == nullptr || nBufferLength <= kChars) return kChars + 1;
    std::copy(std::begin(kTempPath), std::end(kTempPath), lpBuffer);
    return kChars;
}

void WINAPI OutputDebugStringW(LPCWSTR lpOutputString) {
    if (lpOutputString == nullptr) return;
    std::string text = utf8_of(lpOutputString);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    debug_log().info("{}", text);
}

LONG WINAPI InterlockedIncrement(LPLONG lpAddend) {
    return __atomic_add_fetch(lpAddend, 1, __ATOMIC_SEQ_CST);
}

LONG WINAPI InterlockedDecrement(LPLONG lpAddend) {
    return __atomic_sub_fetch(lpAddend, 1, __ATOMIC_SEQ_CST);
}

LONG WINAPI InterlockedExchange(LPLONG Target, LONG Value) {
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}

LONG WINAPI InterlockedExchangeAdd(LPLONG Addend, LONG Increment) {
    return __atomic_fetch_add(Addend, Increment, __ATOMIC_SEQ_CST);
}

LONG WINAPI InterlockedCompareExchange(LPLONG Destination, LONG Exchange, LONG Comperand) {
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return Comperand;  // the value found
}

}  // extern "C"
