// The registry's costs against a private kernel, in one run (docs/performance.md, "Registry"):
//   round_trip   SetEvent: one kernel round trip on this machine, now (the unit of the rows below)
//   open_close   RegOpenKeyExW + RegCloseKey of an existing key
//   query_dword  RegQueryValueExW of a REG_DWORD
//   set_dword    RegSetValueExW of a REG_DWORD, no flush
//   enum_1000    RegEnumValueW over a key of 1,000 values (per whole enumeration)
//   flush_10k    RegFlushKey after one RegSetValueExW in a hive of 10,000 values, against the
//                floor: writing the changed value's bytes by hand into a file on the same file
//                system and fsync-ing it (measured here, alternating with the flushes)
// Each row keeps the best of several rounds (the machine is shared). Wine figures are not
// measured here: perf-anchors.md puts one wineserver round trip at 29.4 us, and Wine's
// RegOpenKeyEx, RegCloseKey, RegQueryValueEx and RegSetValueEx are one round trip each.
// --quick: a few iterations, for the smoke test (results checked, speed not).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <windows.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "private_kernel.h"

namespace {

uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

void check(LONG e, const char* what) {
    if (e != ERROR_SUCCESS) {
        std::fprintf(stderr, "registry_bench: %s failed: %ld\n", what, static_cast<long>(e));
        std::exit(1);
    }
}

std::u16string name_of(const char* prefix, int i) {
    std::string s = prefix + std::to_string(i);
    return std::u16string(s.begin(), s.end());
}

template <class F>
double best_us(int rounds, int n, F&& body) {
    double best = 1e300;
    for (int r = 0; r < rounds; ++r) {
        const uint64_t t = now_ns();
        for (int i = 0; i < n; ++i) body(i);
        best = std::min(best, static_cast<double>(now_ns() - t) / n / 1000.0);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::string kernel = "cekernel";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) kernel = argv[++i];
    }
    cek::bench::PrivateKernel k(kernel, "regbench");
    const int n = quick ? 50 : 20000;
    const int rounds = quick ? 1 : 5;

    HKEY key = nullptr;
    check(RegCreateKeyExW(HKEY_LOCAL_MACHINE, u"Software\\Bench", 0, nullptr, 0, 0, nullptr, &key,
                          nullptr),
          "RegCreateKeyExW");
    DWORD v = 42;
    check(RegSetValueExW(key, u"Dword", 0, REG_DWORD, reinterpret_cast<const BYTE*>(&v), 4),
          "RegSetValueExW");

    // The machine's kernel round trip now (one SetEvent), to read the rows below against.
    HANDLE ev = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (ev == nullptr) std::exit(1);
    const double round_trip = best_us(rounds, n, [&](int) {
        if (!SetEvent(ev)) std::exit(1);
    });
    CloseHandle(ev);
    const double open_close = best_us(rounds, n, [](int) {
        HKEY h = nullptr;
        check(RegOpenKeyExW(HKEY_LOCAL_MACHINE, u"Software\\Bench", 0, 0, &h), "RegOpenKeyExW");
        check(RegCloseKey(h), "RegCloseKey");
    });
    const double query = best_us(rounds, n, [&](int) {
        DWORD out = 0, size = 4, type = 0;
        check(RegQueryValueExW(key, u"Dword", nullptr, &type, reinterpret_cast<BYTE*>(&out), &size),
              "RegQueryValueExW");
        if (out != 42) std::exit(1);
    });
    const double set = best_us(rounds, n, [&](int i) {
        const DWORD x = static_cast<DWORD>(i);
        check(RegSetValueExW(key, u"Set", 0, REG_DWORD, reinterpret_cast<const BYTE*>(&x), 4),
              "RegSetValueExW");
    });

    // 1,000 values, enumerated whole.
    HKEY many = nullptr;
    check(RegCreateKeyExW(HKEY_LOCAL_MACHINE, u"Software\\Bench\\Enum", 0, nullptr, 0, 0, nullptr,
                          &many, nullptr),
          "RegCreateKeyExW");
    for (int i = 0; i < 1000; ++i)
        check(RegSetValueExW(many, name_of("value", i).c_str(), 0, REG_DWORD,
                             reinterpret_cast<const BYTE*>(&i), 4),
              "RegSetValueExW");
    const double enumerate = best_us(rounds, quick ? 1 : 20, [&](int) {
        for (DWORD i = 0;; ++i) {
            WCHAR name[64];
            DWORD chars = 64, data = 0, size = 4, type = 0;
            LONG e = RegEnumValueW(many, i, name, &chars, nullptr, &type,
                                   reinterpret_cast<BYTE*>(&data), &size);
            if (e == ERROR_NO_MORE_ITEMS) {
                if (i != 1000) std::exit(1);
                break;
            }
            check(e, "RegEnumValueW");
        }
    });

    // A hive of 10,000 values, flushed once; then one change and a flush, against the floor.
    HKEY big = nullptr;
    check(RegCreateKeyExW(HKEY_LOCAL_MACHINE, u"Software\\Bench\\Hive", 0, nullptr, 0, 0, nullptr,
                          &big, nullptr),
          "RegCreateKeyExW");
    for (int i = 0; i < 10000; ++i)
        check(RegSetValueExW(big, name_of("v", i).c_str(), 0, REG_DWORD,
                             reinterpret_cast<const BYTE*>(&i), 4),
              "RegSetValueExW");
    check(RegFlushKey(big), "RegFlushKey");
    const std::string floor_path = (k.root() / "floor.bin").string();
    int fd = ::open(floor_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) cek::bench::die("open");
    std::string image(10000 * 16, 'x');  // the hive's values, by hand: name and data
    if (::pwrite(fd, image.data(), image.size(), 0) != static_cast<ssize_t>(image.size()) ||
        ::fsync(fd) != 0)
        cek::bench::die("floor file");
    const int flushes = quick ? 3 : 200;
    double flush_best = 1e300, floor_best = 1e300;
    for (int r = 0; r < rounds; ++r) {
        uint64_t flush_ns = 0, floor_ns = 0;
        for (int i = 0; i < flushes; ++i) {
            const DWORD x = static_cast<DWORD>(i + r * flushes);
            check(RegSetValueExW(big, u"v5000", 0, REG_DWORD, reinterpret_cast<const BYTE*>(&x), 4),
                  "RegSetValueExW");
            uint64_t t = now_ns();
            check(RegFlushKey(big), "RegFlushKey");
            flush_ns += now_ns() - t;
            char record[16];
            std::memcpy(record, "v5000\0\0\0\0\0\0\0", 12);
            std::memcpy(record + 12, &x, 4);
            t = now_ns();
            if (::pwrite(fd, record, sizeof record, 5000 * 16) != sizeof record || ::fsync(fd) != 0)
                cek::bench::die("floor write");
            floor_ns += now_ns() - t;
        }
        flush_best = std::min(flush_best, static_cast<double>(flush_ns) / flushes / 1000.0);
        floor_best = std::min(floor_best, static_cast<double>(floor_ns) / flushes / 1000.0);
    }
    ::close(fd);
    RegCloseKey(big);
    RegCloseKey(many);
    RegCloseKey(key);

    constexpr double kWineRoundTripUs = 29.4;  // perf-anchors.md
    std::printf("%-12s %10s %14s %10s\n", "row", "us/call", "wine anchor us", "speed-up");
    std::printf("%-12s %10.3f %14.1f %9.1fx\n", "round_trip", round_trip, kWineRoundTripUs,
                kWineRoundTripUs / round_trip);
    std::printf("%-12s %10.3f %14.1f %9.1fx\n", "open_close", open_close, 2 * kWineRoundTripUs,
                2 * kWineRoundTripUs / open_close);
    std::printf("%-12s %10.3f %14.1f %9.1fx\n", "query_dword", query, kWineRoundTripUs,
                kWineRoundTripUs / query);
    std::printf("%-12s %10.3f %14.1f %9.1fx\n", "set_dword", set, kWineRoundTripUs,
                kWineRoundTripUs / set);
    std::printf("%-12s %10.3f %14s %10s\n", "enum_1000", enumerate, "-", "-");
    std::printf("%-12s %10.3f %14s %10s\n", "flush_10k", flush_best, "-", "-");
    std::printf("%-12s %10.3f %14s %10s\n", "floor_fsync", floor_best, "-", "-");
    std::printf("flush / floor: %.2f\n", flush_best / floor_best);
    return 0;
}
