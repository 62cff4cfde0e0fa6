// Test support: a private temporary directory per test, plus small host-side file helpers that
// bypass fsys so tests can check what it really did on disk.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "fsys/path.h"
#include "fsys/root.h"
#include "common/errors.h"

namespace cek::fsys::test {

// mkdtemp under $TMPDIR (or /tmp); removed with everything in it at scope exit.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// A temp dir holding the store in "root/" (so tests can put things beside the root).
struct StoreFixture {
    explicit StoreFixture(RootOptions options = {});
    std::filesystem::path host(const std::string& rel = "") const;
    Root& root() { return *root_; }
    void reopen(RootOptions options = {});

    TempDir dir;
    std::unique_ptr<Root> root_;
};

void write_host_file(const std::filesystem::path& p, const std::string& data);
std::string read_host_file(const std::filesystem::path& p);
std::string read_fd(int fd);
// The raw user.DOSATTRIB value, or "<none>".
std::string host_dosattrib(const std::filesystem::path& p);
// Waits past the dir cache's "racy" window, so that an entry built next is trusted.
void settle();

}  // namespace cek::fsys::test

namespace Catch {
template <>
struct StringMaker<std::u16string> {
    static std::string convert(const std::u16string& s) {
        auto u8 = cek::fsys::to_utf8(s);
        return u8 ? "u\"" + *u8 + "\"" : std::string("<invalid UTF-16>");
    }
};
template <>
struct StringMaker<cek::Win32Error> {
    static std::string convert(cek::Win32Error e) {
        return std::string(cek::error_name(e)) + "(" + std::to_string(cek::to_u32(e)) + ")";
    }
};
}  // namespace Catch

// The error of a failed Result, or ERROR_SUCCESS, so REQUIRE(err(r) == ...) prints names.
template <class T>
cek::Win32Error err(const cek::Result<T>& r) {
    return r.ok() ? cek::Win32Error::ERROR_SUCCESS : r.error();
}
