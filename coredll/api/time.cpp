// System and local time, FILETIME conversions, GetTickCount, the performance counter and Sleep.
//
// FILETIMEs count 100 ns since 1601-01-01 UTC. Local time is the host's time zone; converting a
// FILETIME between UTC and local uses the bias in force now (daylight saving included), not
// the bias at the converted date, as CE and Windows both do. GetTickCount and the performance
// counter read CLOCK_MONOTONIC (milliseconds and nanoseconds since the host booted), so every
// process of one machine sees the same clock.
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "coredll/api/api.h"

using namespace cek::coredll;

namespace {

constexpr int64_t kTicksPerSecond = 10'000'000;  // FILETIME units
constexpr int64_t kTicksPerDay = 86'400 * kTicksPerSecond;
constexpr int64_t kUnixEpochDays = 134'774;  // 1601-01-01 to 1970-01-01
constexpr uint64_t kMaxFileTime = 0x7FFFFFFFFFFFFFFFULL;

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int days_in_month(int64_t y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days from 1601-01-01 to y-m-d (proleptic Gregorian). 1601 starts a 400-year cycle.
int64_t days_from_date(int64_t y, int m, int d) {
    int64_t years = y - 1601;
    int64_t days = years * 365 + years / 4 - years / 100 + years / 400;
    for (int i = 1; i < m; ++i) days += days_in_month(y, i);
    return days + d - 1;
}

void date_from_days(int64_t days, SYSTEMTIME& st) {
    st.wDayOfWeek = static_cast<WORD>((days + 1) % 7);  // 1601-01-01 was a Monday
    int64_t cycles = days / 146'097;                     // whole 400-year cycles
    int64_t rest = days % 146'097;
    int64_t centuries = rest / 36'524;
    if (centuries == 4) centuries = 3;  // the last day of a cycle
    rest -= centuries * 36'524;
    int64_t quads = rest / 1461;
    rest -= quads * 1461;
    int64_t years = rest / 365;
    if (years == 4) years = 3;
    rest -= years * 365;
    int64_t y = 1601 + cycles * 400 + centuries * 100 + quads * 4 + years;
    int m = 1;
    while (rest >= days_in_month(y, m)) rest -= days_in_month(y, m++);
    st.wYear = static_cast<WORD>(y);
    st.wMonth = static_cast<WORD>(m);
    st.wDay = static_cast<WORD>(rest + 1);
}

bool valid(const SYSTEMTIME& st) {
    return st.wYear >= 1601 && st.wYear <= 30827 && st.wMonth >= 1 && st.wMonth <= 12 &&
           st.wDay >= 1 && st.wDay <= days_in_month(st.wYear, st.wMonth) && st.wHour < 24 &&
           st.wMinute < 60 && st.wSecond < 60 && st.wMilliseconds < 1000;
}


uint64_t now_filetime() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>((kUnixEpochDays * 86'400 + ts.tv_sec) * kTicksPerSecond + ts.tv_nsec / 100);
}

void filetime_to_systemtime(uint64_t t, SYSTEMTIME& st) {
    auto days = static_cast<int64_t>(t / kTicksPerDay);
    int64_t in_day = static_cast<int64_t>(t % kTicksPerDay);
    date_from_days(days, st);
    st.wHour = static_cast<WORD>(in_day / (3600 * kTicksPerSecond));
    st.wMinute = static_cast<WORD>(in_day / (60 * kTicksPerSecond) % 60);
    st.wSecond = static_cast<WORD>(in_day / kTicksPerSecond % 60);
    st.wMilliseconds = static_cast<WORD>(in_day / 10'000 % 1000);
}

// The host's offset of local time from UTC now, in FILETIME units.
int64_t local_bias_now() {
    time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    return static_cast<int64_t>(local.tm_gmtoff) * kTicksPerSecond;
}

// t + delta, or false when the result leaves the FILETIME range.
bool shift(uint64_t t, int64_t delta, uint64_t& out) {
    if (t > kMaxFileTime) return false;
    auto r = static_cast<int64_t>(t) + delta;  // |delta| is a day at most: no overflow
    if (r < 0) return false;
    out = static_cast<uint64_t>(r);
    return true;
}

uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

extern "C" {

void WINAPI GetSystemTime(LPSYSTEMTIME lpSystemTime) {
    if (lpSystemTime != nullptr) filetime_to_systemtime(now_filetime(), *lpSystemTime);
}

void WINAPI GetLocalTime(LPSYSTEMTIME lpSystemTime) {
    if (lpSystemTime == nullptr) return;
    uint64_t local = 0;
    shift(now_filetime(), local_bias_now(), local);
    filetime_to_systemtime(local, *lpSystemTime);
}

void WINAPI GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime) {
    if (lpSystemTimeAsFileTime != nullptr) *lpSystemTimeAsFileTime = to_filetime(now_filetime());
}

BOOL WINAPI SystemTimeToFileTime(const SYSTEMTIME* lpSystemTime, LPFILETIME lpFileTime) {
    if (lpSystemTime == nullptr || lpFileTime == nullptr || !valid(*lpSystemTime)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    const SYSTEMTIME& st = *lpSystemTime;  // wDayOfWeek is ignored
    int64_t t = days_from_date(st.wYear, st.wMonth, st.wDay) * kTicksPerDay +
                ((st.wHour * 60 + st.wMinute) * 60 + st.wSecond) * kTicksPerSecond +
                st.wMilliseconds * 10'000LL;
    *lpFileTime = to_filetime(static_cast<uint64_t>(t));
    return TRUE;
}

BOOL WINAPI FileTimeToSystemTime(const FILETIME* lpFileTime, LPSYSTEMTIME lpSystemTime) {
    if (lpFileTime == nullptr || lpSystemTime == nullptr || from_filetime(*lpFileTime) > kMaxFileTime) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    filetime_to_systemtime(from_filetime(*lpFileTime), *lpSystemTime);
    return TRUE;
}

BOOL WINAPI FileTimeToLocalFileTime(const FILETIME* lpFileTime, LPFILETIME lpLocalFileTime) {
    uint64_t out = 0;
    if (lpFileTime == nullptr || lpLocalFileTime == nullptr ||
        !shift(from_filetime(*lpFileTime), local_bias_now(), out)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpLocalFileTime = to_filetime(out);
    return TRUE;
}

BOOL WINAPI LocalFileTimeToFileTime(const FILETIME* lpLocalFileTime, LPFILETIME lpFileTime) {
    uint64_t out = 0;
    if (lpLocalFileTime == nullptr || lpFileTime == nullptr ||
        !shift(from_filetime(*lpLocalFileTime), -local_bias_now(), out)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    *lpFileTime = to_filetime(out);
    return TRUE;
}

DWORD WINAPI GetTickCount(void) { return static_cast<DWORD>(monotonic_ns() / 1'000'000); }

BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER* lpPerformanceCount) {
    if (lpPerformanceCount == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    lpPerformanceCount->QuadPart = static_cast<LONGLONG>(monotonic_ns());
    return TRUE;
}

BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER* lpFrequency) {
    if (lpFrequency == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    lpFrequency->QuadPart = 1'000'000'000;
    return TRUE;
}

// Sleep(0) gives up the rest of the time slice; INFINITE suspends the caller (CE 5), and another
// thread's ResumeThread ends it (thread.cpp).
void WINAPI Sleep(DWORD dwMilliseconds) {
    if (dwMilliseconds == 0) {
        sched_yield();
        return;
    }
    if (dwMilliseconds == 0xFFFFFFFF) {
        cek::coredll::sleep_forever();
        return;
    }
    timespec left{static_cast<time_t>(dwMilliseconds / 1000),
                  static_cast<long>(dwMilliseconds % 1000) * 1'000'000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
}

}  // extern "C"
