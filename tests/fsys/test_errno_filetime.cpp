// errno -> Win32 mapping and FILETIME conversion.
#include <catch2/catch.hpp>

#include <cerrno>

#include "fsys/errno_map.h"
#include "fsys/filetime.h"
#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;

TEST_CASE("errno values map to the documented Win32 codes", "[fsys][unit]") {
    using C = ErrnoContext;
    CHECK(win32_from_errno(EACCES, C::leaf) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(EPERM, C::leaf) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(EROFS, C::leaf) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(EISDIR, C::leaf) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(ELOOP, C::parent) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(ENOENT, C::leaf) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(win32_from_errno(ENOENT, C::parent) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(win32_from_errno(EEXIST, C::create_file) == Win32Error::ERROR_FILE_EXISTS);
    CHECK(win32_from_errno(EEXIST, C::leaf) == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(win32_from_errno(ENOSPC, C::leaf) == Win32Error::ERROR_DISK_FULL);
    CHECK(win32_from_errno(ENOTEMPTY, C::directory) == Win32Error::ERROR_DIR_NOT_EMPTY);
    CHECK(win32_from_errno(ENOTDIR, C::parent) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(win32_from_errno(ENOTDIR, C::directory) == Win32Error::ERROR_DIRECTORY);
    CHECK(win32_from_errno(EMFILE, C::leaf) == Win32Error::ERROR_TOO_MANY_OPEN_FILES);
    CHECK(win32_from_errno(ENFILE, C::leaf) == Win32Error::ERROR_TOO_MANY_OPEN_FILES);
    CHECK(win32_from_errno(ENAMETOOLONG, C::leaf) == Win32Error::ERROR_FILENAME_EXCED_RANGE);
    CHECK(win32_from_errno(EXDEV, C::leaf) == Win32Error::ERROR_NOT_SAME_DEVICE);
    CHECK(win32_from_errno(EINVAL, C::rename) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(win32_from_errno(EINVAL, C::leaf) == Win32Error::ERROR_GEN_FAILURE);
    CHECK(win32_from_errno(EIO, C::leaf) == Win32Error::ERROR_GEN_FAILURE);
}

TEST_CASE("FILETIME counts 100 ns ticks from 1601", "[fsys][unit]") {
    CHECK(filetime_from_timespec({0, 0}) == kFiletimeUnixEpoch);
    CHECK(filetime_from_timespec({1, 250}) == kFiletimeUnixEpoch + 10'000'000 + 2);
    // 2000-01-01T00:00:00Z, a well-known FILETIME.
    CHECK(filetime_from_timespec({946684800, 0}) == 125911584000000000ULL);
    CHECK(filetime_from_timespec({-11644473600 - 5, 0}) == 0);  // before 1601 clamps
    const timespec back = timespec_from_filetime(125911584000000000ULL + 1234567);
    CHECK(back.tv_sec == 946684800);
    CHECK(back.tv_nsec == 123456700);
    const timespec old = timespec_from_filetime(0);
    CHECK(old.tv_sec == -11644473600);
}
