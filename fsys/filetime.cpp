#include "fsys/filetime.h"

namespace cek::fsys {

namespace {
constexpr int64_t kTicksPerSecond = 10'000'000;
constexpr int64_t kEpochSeconds = 11'644'473'600;  // 1601 -> 1970
}  // namespace

uint64_t filetime_from_timespec(const timespec& ts) {
    const int64_t seconds = static_cast<int64_t>(ts.tv_sec) + kEpochSeconds;
    if (seconds < 0) return 0;
    return static_cast<uint64_t>(seconds) * kTicksPerSecond +
           static_cast<uint64_t>(ts.tv_nsec / 100);
}

timespec timespec_from_filetime(uint64_t filetime) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(static_cast<int64_t>(filetime / kTicksPerSecond) -
                                    kEpochSeconds);
    ts.tv_nsec = static_cast<long>((filetime % kTicksPerSecond) * 100);
    return ts;
}

}  // namespace cek::fsys
