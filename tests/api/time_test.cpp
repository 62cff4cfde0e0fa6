// Time: SYSTEMTIME <-> FILETIME, the clocks, local time and Sleep.
#include <catch2/catch.hpp>

#include <windows.h>

#include <cstdlib>
#include <ctime>

namespace {

uint64_t u64(const FILETIME& ft) { return (uint64_t{ft.dwHighDateTime} << 32) | ft.dwLowDateTime; }
FILETIME ft(uint64_t v) { return FILETIME{static_cast<DWORD>(v), static_cast<DWORD>(v >> 32)}; }
SYSTEMTIME st(WORD y, WORD mo, WORD d, WORD h = 0, WORD mi = 0, WORD s = 0, WORD ms = 0) {
    return SYSTEMTIME{y, mo, 0, d, h, mi, s, ms};
}

}  // namespace

TEST_CASE("SystemTimeToFileTime counts 100 ns since 1601", "[api][time]") {
    FILETIME out{};
    SYSTEMTIME epoch = st(1601, 1, 1);
    REQUIRE(SystemTimeToFileTime(&epoch, &out));
    CHECK(u64(out) == 0);
    SYSTEMTIME unix_epoch = st(1970, 1, 1);
    REQUIRE(SystemTimeToFileTime(&unix_epoch, &out));
    CHECK(u64(out) == 116444736000000000ULL);
    SYSTEMTIME leap = st(2024, 2, 29, 23, 59, 59, 999);
    REQUIRE(SystemTimeToFileTime(&leap, &out));
    CHECK(u64(out) == 133537247999990000ULL);
}

TEST_CASE("FileTimeToSystemTime fills every field, the day of week too", "[api][time]") {
    SYSTEMTIME out{};
    FILETIME t = ft(133537247999990000ULL);
    REQUIRE(FileTimeToSystemTime(&t, &out));
    CHECK(out.wYear == 2024);
    CHECK(out.wMonth == 2);
    CHECK(out.wDay == 29);
    CHECK(out.wDayOfWeek == 4);  // a Thursday
    CHECK(out.wHour == 23);
    CHECK(out.wMinute == 59);
    CHECK(out.wSecond == 59);
    CHECK(out.wMilliseconds == 999);
    FILETIME zero = ft(0);
    REQUIRE(FileTimeToSystemTime(&zero, &out));
    CHECK((out.wYear == 1601 && out.wMonth == 1 && out.wDay == 1 && out.wDayOfWeek == 1));
}

TEST_CASE("SYSTEMTIME and FILETIME round trip across four centuries", "[api][time]") {
    bool all = true;
    for (uint64_t days = 0; days < 146097 * 2; days += 37) {
        FILETIME in = ft(days * 864000000000ULL + 12345670000ULL);
        SYSTEMTIME s{};
        FILETIME back{};
        all = all && FileTimeToSystemTime(&in, &s) && SystemTimeToFileTime(&s, &back) &&
              u64(back) == u64(in);
    }
    CHECK(all);
}

TEST_CASE("bad SYSTEMTIME fields fail with ERROR_INVALID_PARAMETER", "[api][time]") {
    FILETIME out{};
    const SYSTEMTIME bad[] = {st(1600, 12, 31), st(2023, 2, 29),   st(2024, 13, 1),
                              st(2024, 0, 1),   st(2024, 4, 31),   st(2024, 1, 0),
                              st(2024, 1, 1, 24), st(2024, 1, 1, 0, 60), st(2024, 1, 1, 0, 0, 60),
                              st(2024, 1, 1, 0, 0, 0, 1000), st(30828, 1, 1)};
    for (const auto& s : bad) {
        SetLastError(0);
        CHECK_FALSE(SystemTimeToFileTime(&s, &out));
        CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    }
    SYSTEMTIME ok = st(1900, 2, 28);  // 1900 is no leap year; the 28th is fine
    CHECK(SystemTimeToFileTime(&ok, &out));
}

TEST_CASE("FILETIMEs at or above 2^63 fail with ERROR_INVALID_PARAMETER", "[api][time]") {
    SYSTEMTIME out{};
    FILETIME big = ft(0x8000000000000000ULL);
    SetLastError(0);
    CHECK_FALSE(FileTimeToSystemTime(&big, &out));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}

TEST_CASE("GetSystemTime and GetSystemTimeAsFileTime agree with the host clock", "[api][time]") {
    FILETIME now{};
    GetSystemTimeAsFileTime(&now);
    auto host = static_cast<uint64_t>(std::time(nullptr));
    uint64_t seconds = u64(now) / 10000000ULL - 11644473600ULL;
    CHECK((seconds + 2 >= host && seconds <= host + 2));
    SYSTEMTIME s{};
    GetSystemTime(&s);
    FILETIME from_st{};
    REQUIRE(SystemTimeToFileTime(&s, &from_st));
    CHECK(u64(from_st) / 10000000ULL - 11644473600ULL + 2 >= host);
}

TEST_CASE("local time uses the host time zone's current bias", "[api][time]") {
    time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    const int64_t bias = static_cast<int64_t>(local.tm_gmtoff) * 10000000LL;
    FILETIME utc = ft(133537247999990000ULL), loc{}, back{};
    REQUIRE(FileTimeToLocalFileTime(&utc, &loc));
    CHECK(static_cast<int64_t>(u64(loc) - u64(utc)) == bias);
    REQUIRE(LocalFileTimeToFileTime(&loc, &back));
    CHECK(u64(back) == u64(utc));
    SYSTEMTIME lt{};
    GetLocalTime(&lt);
    CHECK(lt.wHour == local.tm_hour);  // (unless the hour turned between the two reads)
}

TEST_CASE("GetTickCount counts milliseconds of the monotonic clock", "[api][time]") {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    auto expected = static_cast<DWORD>(ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000);
    DWORD t = GetTickCount();
    CHECK(static_cast<DWORD>(t - expected) < 1000);  // also right across the DWORD wrap
}

TEST_CASE("the performance counter runs at its frequency", "[api][time]") {
    LARGE_INTEGER f{}, a{}, b{};
    REQUIRE(QueryPerformanceFrequency(&f));
    CHECK(f.QuadPart == 1000000000);
    REQUIRE(QueryPerformanceCounter(&a));
    Sleep(20);
    REQUIRE(QueryPerformanceCounter(&b));
    CHECK(b.QuadPart - a.QuadPart >= 20 * (f.QuadPart / 1000));
    SetLastError(0);
    CHECK_FALSE(QueryPerformanceCounter(nullptr));
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
}
