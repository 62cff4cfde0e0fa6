// FILETIME (100 ns ticks since 1601-01-01 UTC, as a uint64) <-> host timespec.
#pragma once

#include <cstdint>
#include <ctime>

namespace cek::fsys {

// FILETIME of the Unix epoch, 1970-01-01 00:00:00 UTC.
inline constexpr uint64_t kFiletimeUnixEpoch = 116444736000000000ULL;

// Host times before 1601 clamp to 0; sub-100 ns precision is truncated.
uint64_t filetime_from_timespec(const timespec& ts);
timespec timespec_from_filetime(uint64_t filetime);

}  // namespace cek::fsys
