// CreateFileW, CreateFileForMappingW and file-backed CreateFileMappingW with the CE 5
// personality, through cek::kernel::Kernel with fake processes and a real object store in a
// private temporary directory. Rows: docs/semantics/files.md, mappings.md §2.2-§2.3 (file-backed steps 1-12), §5-§7;
// dispositions, access and sharing in files.md §3-§4 (CE's object store follows desktop Win32 there).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "fsys/attributes.h"
#include "fsys/path.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::MapViewResult;

namespace {

constexpr uint32_t kGR = ce::kGenericRead;
constexpr uint32_t kGW = ce::kGenericWrite;
constexpr uint32_t kGRW = kGR | kGW;
constexpr uint32_t kSR = ce::kFileShareRead;
constexpr uint32_t kSW = ce::kFileShareWrite;
constexpr uint32_t kSRW = kSR | kSW;
constexpr uint32_t kShareDelete = 0x4;
constexpr uint32_t kOverride = ce::kFileShareWriteOverride;

constexpr uint32_t kCreateNew = 1;
constexpr uint32_t kCreateAlways = 2;
constexpr uint32_t kOpenExisting = 3;
constexpr uint32_t kOpenAlways = 4;
constexpr uint32_t kTruncateExisting = 5;

constexpr uint32_t kRW = ce::kPageReadWrite;
constexpr uint32_t kRO = ce::kPageReadOnly;
constexpr uint32_t kPageExecute = 0x10;

const std::u16string kFile = u"\\Temp\\a.txt";
const std::string kHost = "Temp/a.txt";

// A distinctive last error that no call here sets, to see whether a call touched it.
LastError untouched() { return LastError::to(Win32Error::ERROR_FILE_NOT_FOUND); }

// The error of a result, or ERROR_SUCCESS, so that CHECK(err(r) == ...) prints names.
template <class T>
Win32Error err(const Result<T>& r) {
    return r.ok() ? Win32Error::ERROR_SUCCESS : r.error();
}
Win32Error err(const Result<void>& r) { return r.error(); }

uint64_t page() { return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)); }

std::string ascii(const std::u16string& s) { return fsys::to_utf8(s).value_or("<bad>"); }

// A handle that must open.
HandleValue must(const Result<HandleValue>& r) {
    INFO("open failed with " << err(r));
    REQUIRE(r.ok());
    return r.value();
}

int fd_of(FileScene& s, ProcessId p, HandleValue h) {
    auto d = s.k.file_descriptor(p, h);
    INFO("file_descriptor failed with " << err(d));
    REQUIRE(d.ok());
    return d->fd;
}

std::string pread_all(int fd, size_t n, off_t at = 0) {
    std::string out(n, '\0');
    ssize_t got = ::pread(fd, out.data(), n, at);
    out.resize(got > 0 ? static_cast<size_t>(got) : 0);
    return out;
}

// An exclusive read-write open from a process of its own succeeds: nobody holds the file.
bool nobody_holds(FileScene& s, const std::u16string& path) {
    auto probe = s.attach("probe.exe");
    auto r = s.open(probe, path, kGRW, 0, kOpenExisting);
    bool ok = r.ok();
    if (ok) REQUIRE(s.k.close_handle(probe, r.value()).ok());
    s.k.detach_process(probe);
    return ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CreateFileW: dispositions (docs/semantics/files.md §3.1)

TEST_CASE("CREATE_NEW creates a missing file and sets the last error to 0", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    LastError le = untouched();
    auto h = s.open(a, kFile, kGRW, 0, kCreateNew, le);
    REQUIRE(h.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("CREATE_NEW on an existing file fails with ERROR_FILE_EXISTS", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "keep");
    CHECK(err(s.open(a, kFile, kGRW, 0, kCreateNew)) == Win32Error::ERROR_FILE_EXISTS);
    CHECK(s.read_host(kHost) == "keep");
    CHECK(s.object_handles() == 0);
}

TEST_CASE("CREATE_ALWAYS creates a missing file and sets the last error to 0", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    LastError le = untouched();
    REQUIRE(s.open(a, kFile, kGRW, 0, kCreateAlways, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("CREATE_ALWAYS on an existing file truncates it and reports ERROR_ALREADY_EXISTS",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "old contents");
    LastError le = untouched();
    REQUIRE(s.open(a, kFile, kGRW, 0, kCreateAlways, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("OPEN_EXISTING opens an existing file and sets the last error to 0", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    LastError le = untouched();
    auto h = s.open(a, kFile, kGR, 0, kOpenExisting, le);
    REQUIRE(h.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    CHECK(pread_all(fd_of(s, a, h.value()), 16) == "data");
}

TEST_CASE("OPEN_EXISTING on a missing file fails with ERROR_FILE_NOT_FOUND", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    CHECK(err(s.open(a, kFile, kGR, 0, kOpenExisting)) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.host_size(kHost) == UINT64_MAX);
}

TEST_CASE("OPEN_ALWAYS creates a missing file and sets the last error to 0", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    LastError le = untouched();
    REQUIRE(s.open(a, kFile, kGRW, 0, kOpenAlways, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("OPEN_ALWAYS opens an existing file unchanged and reports ERROR_ALREADY_EXISTS",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    LastError le = untouched();
    REQUIRE(s.open(a, kFile, kGRW, 0, kOpenAlways, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(s.read_host(kHost) == "data");
}

TEST_CASE("TRUNCATE_EXISTING with GENERIC_WRITE truncates an existing file and sets the last "
          "error to 0",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "old contents");
    LastError le = untouched();
    REQUIRE(s.open(a, kFile, kGW, 0, kTruncateExisting, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("TRUNCATE_EXISTING on a missing file fails with ERROR_FILE_NOT_FOUND", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    CHECK(err(s.open(a, kFile, kGW, 0, kTruncateExisting)) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.host_size(kHost) == UINT64_MAX);
}

TEST_CASE("Dispositions 0 and 6 fail with ERROR_INVALID_PARAMETER", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    SECTION("on an existing file") {
        s.write_host(kHost, "keep");
        CHECK(err(s.open(a, kFile, kGRW, 0, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.open(a, kFile, kGRW, 0, 6)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(s.read_host(kHost) == "keep");
    }
    SECTION("on a missing file") {
        CHECK(err(s.open(a, kFile, kGRW, 0, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.open(a, kFile, kGRW, 0, 6)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(s.host_size(kHost) == UINT64_MAX);
    }
    CHECK(s.object_handles() == 0);
}

TEST_CASE("TRUNCATE_EXISTING without GENERIC_WRITE fails with ERROR_INVALID_PARAMETER",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "keep");
    // docs/semantics/files.md §3: the access must contain the literal GENERIC_WRITE bit; that holds
    // for access 0, for GENERIC_READ and even for FILE_WRITE_DATA.
    SECTION("GENERIC_READ") {
        CHECK(err(s.open(a, kFile, kGR, kSRW, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("access 0") {
        CHECK(err(s.open(a, kFile, 0, kSRW, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("FILE_WRITE_DATA") {
        CHECK(err(s.open(a, kFile, ce::kFileWriteData, kSRW, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    CHECK(s.read_host(kHost) == "keep");
}

TEST_CASE("Disposition errors come before sharing and mapping checks", "[unit][file]") {
    // docs/semantics/files.md §3: both ERROR_INVALID_PARAMETER rows are argument checks made
    // "before any I/O", so a file that is held or mapped does not change the answer.
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, std::string(4096, 'k'));
    SECTION("the file is held exclusively by another process") {
        must(s.open(a, kFile, kGRW, 0, kOpenExisting));
        CHECK(err(s.open(b, kFile, kGRW, 0, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.open(b, kFile, kGRW, 0, 6)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.open(b, kFile, kGR, kSRW, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("the file is mapped and shared for reading and writing") {
        auto h = must(s.cffm(a, kFile, kGRW, kOverride));
        must(s.map_file(a, h, kRW));
        CHECK(err(s.open(b, kFile, 0, 0, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.open(b, kFile, kGR, kSRW, kTruncateExisting)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    CHECK(s.read_host(kHost) == std::string(4096, 'k'));
}

TEST_CASE("A path through a missing directory fails with ERROR_PATH_NOT_FOUND", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    const std::u16string path = u"\\Temp\\missing\\a.txt";
    for (uint32_t d : {kCreateNew, kCreateAlways, kOpenExisting, kOpenAlways, kTruncateExisting}) {
        INFO("disposition " << d);
        CHECK(err(s.open(a, path, kGRW, 0, d)) == Win32Error::ERROR_PATH_NOT_FOUND);
    }
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/missing")));
}

TEST_CASE("A READONLY file opened for write fails with ERROR_ACCESS_DENIED", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "keep");
    REQUIRE(s.k.set_attributes(kFile, fsys::kAttrReadonly).ok());
    CHECK(err(s.open(a, kFile, kGW, 0, kOpenExisting)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.open(a, kFile, kGRW, 0, kOpenAlways)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.cffm(a, kFile, kGRW)) == Win32Error::ERROR_ACCESS_DENIED);
    // Reading is still allowed.
    auto h = s.open(a, kFile, kGR, 0, kOpenExisting);
    CHECK(h.ok());
    CHECK(s.read_host(kHost) == "keep");
}

// ---------------------------------------------------------------------------------------------
// Sharing (docs/semantics/files.md §4): R needs FILE_SHARE_READ, W needs FILE_SHARE_WRITE, from both
// sides; access 0 shares everything. The kernel knows no DELETE class, so the D rows and
// columns of the matrix are left out; FILE_SHARE_DELETE alone changes nothing (RW/rwd).

namespace {

struct Open {
    const char* label;
    uint32_t access;
    uint32_t share;
};

const Open kColumns[] = {
    {"R/-", kGR, 0},           {"R/r", kGR, kSR},        {"R/rw", kGR, kSRW},
    {"W/r", kGW, kSR},         {"W/rw", kGW, kSRW},      {"RW/rw", kGRW, kSRW},
    {"RW/rwd", kGRW, kSRW | kShareDelete},               {"0/-", 0, 0},
};

// One row of the matrix: `existing` is held, then every column is opened (and closed again)
// by another process and by the holder itself. `expected` has one character per column:
// 'o' opens, 'S' fails with ERROR_SHARING_VIOLATION.
void check_row(const Open& existing, const char* expected) {
    REQUIRE(std::strlen(expected) == std::size(kColumns));
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto held = must(s.open(a, kFile, existing.access, existing.share, kOpenExisting));
    for (size_t i = 0; i < std::size(kColumns); ++i) {
        for (ProcessId opener : {b, a}) {
            const Open& c = kColumns[i];
            INFO("existing " << existing.label << " (process " << a.raw << "), new " << c.label
                             << " (process " << opener.raw << ")");
            auto r = s.open(opener, kFile, c.access, c.share, kOpenExisting);
            if (expected[i] == 'o') {
                CHECK(err(r) == Win32Error::ERROR_SUCCESS);
            } else {
                CHECK(err(r) == Win32Error::ERROR_SHARING_VIOLATION);
            }
            if (r.ok()) REQUIRE(s.k.close_handle(opener, r.value()).ok());
        }
    }
    REQUIRE(s.k.close_handle(a, held).ok());
}

}  // namespace

//                                          R/- R/r R/rw W/r W/rw RW/rw RW/rwd 0/-
TEST_CASE("Sharing: an existing R/- open refuses every open that reads or writes",
          "[unit][file]") {
    check_row({"R/-", kGR, 0}, "SSSSSSSo");
}
TEST_CASE("Sharing: an existing R/r open admits only readers that share reads",
          "[unit][file]") {
    check_row({"R/r", kGR, kSR}, "SooSSSSo");
}
TEST_CASE("Sharing: an existing R/rw open admits every open that shares reads",
          "[unit][file]") {
    check_row({"R/rw", kGR, kSRW}, "Sooooooo");
}
TEST_CASE("Sharing: an existing W/r open admits only readers that share writes",
          "[unit][file]") {
    check_row({"W/r", kGW, kSR}, "SSoSSSSo");
}
TEST_CASE("Sharing: an existing W/rw open admits opens that share writes", "[unit][file]") {
    check_row({"W/rw", kGW, kSRW}, "SSoSoooo");
}
TEST_CASE("Sharing: an existing RW/rw open admits opens that share reads and writes",
          "[unit][file]") {
    check_row({"RW/rw", kGRW, kSRW}, "SSoSoooo");
}
TEST_CASE("Sharing: FILE_SHARE_DELETE adds nothing to an existing RW/rw open", "[unit][file]") {
    check_row({"RW/rwd", kGRW, kSRW | kShareDelete}, "SSoSoooo");
}
TEST_CASE("Sharing: an existing open with access 0 admits every open", "[unit][file]") {
    check_row({"0/-", 0, 0}, "oooooooo");
}

TEST_CASE("An open with access 0 shares everything in both roles", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto exclusive = must(s.open(a, kFile, kGRW, 0, kOpenExisting));
    auto zero = s.open(b, kFile, 0, 0, kOpenExisting);
    CHECK(zero.ok());
    REQUIRE(s.k.close_handle(a, exclusive).ok());
    // The access-0 handle, still open, does not block an exclusive open either.
    CHECK(s.open(a, kFile, kGRW, 0, kOpenExisting).ok());
}

TEST_CASE("A closed handle no longer blocks an exclusive open", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.open(a, kFile, kGRW, 0, kOpenExisting));
    CHECK(err(s.open(b, kFile, kGR, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    REQUIRE(s.k.close_handle(a, h).ok());
    CHECK(s.open(b, kFile, kGRW, 0, kOpenExisting).ok());
}

TEST_CASE("Detaching a process that holds an exclusive file releases the file", "[unit][file]") {
    // The kill -9 row at kernel level: the daemon detaches a dead client.
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.open(a, kFile, kGRW, 0, kOpenExisting));
    CHECK(err(s.open(b, kFile, kGR, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    s.k.detach_process(a);
    CHECK(err(s.k.file_descriptor(b, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.open(b, kFile, kGRW, 0, kOpenExisting).ok());
}

TEST_CASE("A sharing violation on CREATE_ALWAYS leaves the file untouched", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "keep");
    auto h = must(s.open(a, kFile, kGR, 0, kOpenExisting));
    CHECK(err(s.open(b, kFile, kGW, kSRW, kCreateAlways)) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(s.read_host(kHost) == "keep");
    (void)h;
}

// ---------------------------------------------------------------------------------------------
// CreateFileForMappingW (docs/semantics/files.md §5)

TEST_CASE("CreateFileForMapping with exactly GENERIC_READ shares reads whatever share mode is "
          "passed",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    uint32_t share = GENERATE(0u, kSR, kSRW);
    INFO("share argument " << share);
    auto h = must(s.cffm(a, kFile, kGR, share));
    // Readers that share reads get in, from any process (plain and CreateFileForMapping).
    auto reader = s.open(b, kFile, kGR, kSR, kOpenExisting);
    CHECK(reader.ok());
    auto reader2 = s.cffm(b, kFile, kGR, 0);
    CHECK(reader2.ok());
    // Writers do not, even though FILE_SHARE_WRITE may have been passed.
    CHECK(err(s.open(b, kFile, kGW, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    // The CFFM handle requires its openers to share reads.
    CHECK(err(s.open(b, kFile, kGR, 0, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    (void)h;
}

TEST_CASE("CreateFileForMapping with GENERIC_READ|GENERIC_WRITE is exclusive even with "
          "FILE_SHARE_READ|FILE_SHARE_WRITE",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW, kSRW));
    CHECK(err(s.open(b, kFile, kGR, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.open(b, kFile, kGW, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.open(a, kFile, kGR, kSRW, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.cffm(b, kFile, kGR, kSRW)) == Win32Error::ERROR_SHARING_VIOLATION);
    // Access 0 still shares everything.
    CHECK(s.open(b, kFile, 0, 0, kOpenExisting).ok());
    (void)h;
}

TEST_CASE("FILE_SHARE_WRITE_OVERRIDE in CreateFileForMapping's share argument shares reads and "
          "writes",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW, kOverride));
    auto rw = s.open(b, kFile, kGRW, kSRW, kOpenExisting);
    CHECK(rw.ok());
    auto w = s.open(b, kFile, kGW, kSRW, kOpenExisting);
    CHECK(w.ok());
    // The new opens must still share with the CFFM handle's own read and write access.
    CHECK(err(s.open(b, kFile, kGR, kSR, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);
    (void)h;
}

TEST_CASE("CreateFileForMapping adds FILE_FLAG_WRITE_THROUGH to a writable handle",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    int flags = ::fcntl(fd_of(s, a, h), F_GETFL);
    CHECK((flags & O_DSYNC) == O_DSYNC);
    CHECK((flags & O_ACCMODE) == O_RDWR);
}

TEST_CASE("A CreateFileForMapping handle is kernel-owned and usable from another process",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGR));
    auto mine = s.k.file_descriptor(a, h);
    auto theirs = s.k.file_descriptor(b, h);
    REQUIRE(mine.ok());
    REQUIRE(theirs.ok());
    CHECK(mine->kernel_owned);
    CHECK(theirs->kernel_owned);
    CHECK(theirs->fd == mine->fd);
    CHECK(theirs->access.read);
    CHECK_FALSE(theirs->access.write);
    CHECK(pread_all(theirs->fd, 16) == "data");
    // A plain CreateFileW handle, in contrast, belongs to its opener only.
    auto plain = must(s.open(a, kFile, kGR, kSR, kOpenExisting));
    CHECK(s.k.file_descriptor(a, plain).ok());
    CHECK_FALSE(s.k.file_descriptor(a, plain)->kernel_owned);
    CHECK(err(s.k.file_descriptor(b, plain)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A file mapping that finds no room leaves another process's CreateFileForMapping "
          "handle on that process's list",
          "[unit][file][ce5]") {
    // Found by fuzz_sequence: the handle was taken off its creator's list before the window
    // was found full, so nobody closed it and the file stayed open until the kernel exited.
    FileScene s(config_of(5, 1 << 20));
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    CHECK(err(s.map_file(b, h, kRW, 4 << 20)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(s.k.close_handle(a, h).ok());
    CHECK(s.object_handles() == 0);
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("A file mapping that finds the handle table full leaves another process's "
          "CreateFileForMapping handle on that process's list",
          "[unit][file][ce5]") {
    // Found by fuzz_sequence: the mapping was made and the handle taken off its creator's list
    // before the mapping's own handle failed to fit; the dying mapping then closed the file handle.
    FileScene s(config_of(5, kWindowSize, 6));  // 4 entries after the two processes' own
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    std::vector<HandleValue> filler;
    for (int i = 0; i < 8; ++i) {
        auto r = s.create(b, 4096, nullptr);
        if (!r) break;
        filler.push_back(r.value());
    }
    REQUIRE(filler.size() == 3);  // the table's 4 entries: 3 mappings and the file
    CHECK(err(s.map_file(b, h, kRW, 4096)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(s.k.file_descriptor(a, h).ok());
    CHECK(s.k.close_handle(a, h).ok());
    for (HandleValue f : filler) CHECK(s.k.close_handle(b, f).ok());
    CHECK(s.object_handles() == 0);
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("CloseHandle by the creator before CreateFileMapping closes a CreateFileForMapping "
          "handle",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    CHECK(s.k.close_handle(a, h).ok());
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("Detaching the creator closes its CreateFileForMapping handles no mapping took over",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, "data");
    s.write_host("Temp/b.txt", "more");
    auto h1 = must(s.cffm(a, kFile, kGRW));
    auto h2 = must(s.cffm(a, u"\\Temp\\b.txt", kGR));
    s.k.detach_process(a);
    CHECK(err(s.k.file_descriptor(b, h1)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.file_descriptor(b, h2)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
    CHECK(nobody_holds(s, kFile));
    CHECK(nobody_holds(s, u"\\Temp\\b.txt"));
}

// ---------------------------------------------------------------------------------------------
// File-backed CreateFileMapping (docs/semantics/mappings.md §2.2, CE 5 order of checks)

TEST_CASE("A successful CreateFileMapping takes the CreateFileForMapping handle over",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, std::string(4096, 'x'));
    auto h = must(s.cffm(a, kFile, kGRW));
    auto m = must(s.map_file(a, h, kRW));
    // The creator no longer holds it: CloseHandle fails, yet the handle still works.
    CHECK(err(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.k.file_descriptor(a, h).ok());
    CHECK(s.k.file_descriptor(b, h).ok());
    CHECK(err(s.open(b, kFile, kGRW, 0, kOpenExisting)) == Win32Error::ERROR_SHARING_VIOLATION);

    SECTION("the file dies with the mapping's last handle") {
        REQUIRE(s.k.close_handle(a, m).ok());
    }
    SECTION("a view keeps the file alive after the mapping handle is closed") {
        auto v = s.view(a, m);
        REQUIRE(s.k.close_handle(a, m).ok());
        CHECK(s.k.file_descriptor(b, h).ok());
        CHECK(err(s.open(b, kFile, kGRW, 0, kOpenExisting)) ==
              Win32Error::ERROR_SHARING_VIOLATION);
        REQUIRE(err(s.k.unmap_view(a, v.address)) == Win32Error::ERROR_SUCCESS);
    }
    SECTION("detaching the creator, which holds the handle and a view, ends the file") {
        (void)s.view(a, m);
        s.k.detach_process(a);
    }
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.file_descriptor(b, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(nobody_holds(s, kFile));
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A failed CreateFileMapping closes the CreateFileForMapping handle at once",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, std::string(100, 'x'));
    auto h = must(s.cffm(a, kFile, kGRW));
    // Step 8: the protection must be exactly PAGE_READONLY or PAGE_READWRITE.
    CHECK(err(s.map_file(a, h, kPageExecute)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.file_descriptor(b, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("CreateFileMapping on a plain CreateFileW handle fails with ERROR_INVALID_PARAMETER "
          "after extending the file",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    s.write_host(kHost, std::string(10, 'x'));
    auto h = must(s.open(a, kFile, kGRW, 0, kOpenExisting));
    // Step 4 extends the file before step 10 rejects a handle CFFM did not create.
    CHECK(err(s.map_file(a, h, kRW, 8192)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.host_size(kHost) == 8192);
    CHECK(err(s.map_file(a, h, kRO)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.object_handles() == 1);  // no mapping was made
}

TEST_CASE("A file mapping longer than the file extends the file", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "0123456789");
    auto h = must(s.cffm(a, kFile, kGRW));
    auto m = must(s.map_file(a, h, kRW, 10000));
    CHECK(s.host_size(kHost) == 10000);
    CHECK(s.read_host(kHost).substr(0, 10) == "0123456789");
    CHECK(s.read_host(kHost).substr(10) == std::string(9990, '\0'));
    auto v = s.view(a, m, 9999, 1);
    CHECK(v.address == v.map_base + 9999);
    CHECK(err(s.k.map_view(a, m, ce::kFileMapRead, 0, 10000, 0)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("A file mapping size with bit 31 set fails with ERROR_INVALID_PARAMETER before "
          "extending the file",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    CHECK(err(s.map_file(a, h, kRW, 0x80001000u)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.host_size(kHost) == 4);
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A file mapping with a nonzero high size fails with ERROR_INVALID_PARAMETER after "
          "extending the file",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGRW));
    LastError le;
    // Step 4 uses the low size and extends the file; step 8 then rejects the high size.
    CHECK(err(s.k.create_mapping(a, h, kRW, 1, 8192, nullptr, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.host_size(kHost) == 8192);
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("An unnamed file mapping leaves the last error alone", "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGR));
    LastError le = untouched();
    REQUIRE(s.map_file(a, h, kRO, 0, nullptr, le).ok());
    CHECK_FALSE(le.set);
}

TEST_CASE("A file mapping of size 0 is as long as the file", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, std::string(5000, 'x'));
    auto h = must(s.cffm(a, kFile, kGR));
    auto m = must(s.map_file(a, h, kRO, 0));
    auto v = s.view(a, m, 0, 0, ce::kFileMapRead);
    CHECK(v.map_length == ((5000 + page() - 1) & ~(page() - 1)));
    CHECK(s.k.map_view(a, m, ce::kFileMapRead, 0, 4999, 0).ok());
    CHECK(err(s.k.map_view(a, m, ce::kFileMapRead, 0, 5000, 0)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(s.k.map_view(a, m, ce::kFileMapRead, 0, 0, 5001)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.host_size(kHost) == 5000);
}

TEST_CASE("A file mapping of size 0 over an empty file fails with ERROR_INVALID_PARAMETER",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "");
    for (uint32_t protect : {kRO, kRW}) {
        INFO("protection " << protect);
        auto h = must(s.cffm(a, kFile, kGRW));
        CHECK(err(s.map_file(a, h, protect, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    }
    CHECK(s.host_size(kHost) == 0);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("PAGE_READWRITE on a GENERIC_READ CreateFileForMapping handle fails with "
          "ERROR_ACCESS_DENIED",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGR));
    CHECK(err(s.map_file(a, h, kRW, 0)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.read_host(kHost) == "data");
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("Extending a file through a read-only handle fails with ERROR_ACCESS_DENIED",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto h = must(s.cffm(a, kFile, kGR));
    CHECK(err(s.map_file(a, h, kRO, 8192)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(s.host_size(kHost) == 4);
    CHECK(err(s.k.file_descriptor(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(nobody_holds(s, kFile));
}

TEST_CASE("A file mapping whose name exists returns the same handle value with "
          "ERROR_ALREADY_EXISTS and closes the file handle",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, std::string(4096, 'a'));
    s.write_host("Temp/b.txt", "bb");
    std::u16string name = u"Doc";
    auto h1 = must(s.cffm(a, kFile, kGR));
    LastError first = untouched();
    auto m = must(s.map_file(a, h1, kRO, 0, &name, first));
    CHECK(first.set);
    CHECK(first.code == Win32Error::ERROR_SUCCESS);

    // Another file, another protection: only the name counts (step 5), but the file was
    // already extended by step 4.
    auto h2 = must(s.cffm(b, u"\\Temp\\b.txt", kGRW));
    LastError le = untouched();
    auto again = s.map_file(b, h2, kRW, 8192, &name, le);
    REQUIRE(again.ok());
    CHECK(again.value() == m);
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(err(s.k.file_descriptor(b, h2)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.host_size("Temp/b.txt") == 8192);
    CHECK(nobody_holds(s, u"\\Temp\\b.txt"));
    // b's reference is real: a view from b sees a's file.
    auto v = s.view(b, m, 0, 0, ce::kFileMapRead);
    CHECK(v.file_backed);
    CHECK(v.map_length == 4096);
}

TEST_CASE("CreateFileMapping with an invalid file handle value fails with "
          "ERROR_INVALID_PARAMETER",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    SECTION("a value that was never a handle") {
        CHECK(err(s.map_file(a, HandleValue{0x12345678}, kRO, 4096)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("a closed file handle") {
        s.write_host(kHost, "data");
        auto h = must(s.cffm(a, kFile, kGR));
        REQUIRE(s.k.close_handle(a, h).ok());
        CHECK(err(s.map_file(a, h, kRO)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("a handle that is not a file") {
        auto ram = s.make(a, 4096);
        CHECK(err(s.map_file(a, ram, kRO, 4096)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
}

TEST_CASE("Views of a file mapping report file_backed and the file's dev and ino",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, std::string(4096, 'x'));
    struct stat st {};
    REQUIRE(::stat(s.host(kHost).c_str(), &st) == 0);
    auto h = must(s.cffm(a, kFile, kGRW));
    auto d = s.k.file_descriptor(a, h);
    REQUIRE(d.ok());
    CHECK(d->dev == st.st_dev);
    CHECK(d->ino == st.st_ino);
    auto m = must(s.map_file(a, h, kRW));
    auto v = s.view(a, m);
    CHECK(v.file_backed);
    CHECK(v.writable);
    CHECK(v.dev == st.st_dev);
    CHECK(v.ino == st.st_ino);
    CHECK(v.kernel_fd == d->fd);
    // A RAM mapping, for contrast.
    auto r = s.view(a, s.make(a, 4096));
    CHECK_FALSE(r.file_backed);
}

TEST_CASE("Descriptors handed to a client carry no O_NONBLOCK, and keep their access",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, std::string(4096, 'x'));
    auto flags = [](int fd) { return ::fcntl(fd, F_GETFL); };
    SECTION("CreateFileW, read-write, then its descriptor") {
        auto h = must(s.open(a, kFile, kGRW, kSRW, kOpenExisting));
        auto d = s.k.file_descriptor(a, h);
        REQUIRE(d.ok());
        CHECK((flags(d->fd) & (O_NONBLOCK | O_ACCMODE | O_DSYNC)) == O_RDWR);
    }
    SECTION("CreateFileForMapping, then a view of its mapping first") {
        auto h = must(s.cffm(a, kFile, kGRW));
        auto m = must(s.map_file(a, h, kRW));
        auto v = s.view(a, m);
        REQUIRE(v.kernel_fd >= 0);
        CHECK((flags(v.kernel_fd) & (O_NONBLOCK | O_ACCMODE)) == O_RDWR);
        // CE 5 makes a writable CreateFileForMapping handle write-through; the flag stays.
        CHECK(((flags(v.kernel_fd) & O_DSYNC) != 0) == (s.k.personality().version() == 5));
    }
}

// ---------------------------------------------------------------------------------------------
// Shrinking, truncating, deleting and moving a mapped or open file

TEST_CASE("SetEndOfFile below a mapping's length fails with ERROR_USER_MAPPED_FILE",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    s.write_host(kHost, std::string(8192, 'x'));
    SECTION("through a second handle whose sharing allows it") {
        auto h = must(s.cffm(a, kFile, kGRW, kOverride));
        auto m = must(s.map_file(a, h, kRW, 6000));
        auto w = must(s.open(b, kFile, kGRW, kSRW, kOpenExisting));
        int fd = fd_of(s, b, w);
        for (off_t at : {off_t{0}, off_t{100}, off_t{5999}}) {
            INFO("end of file at " << at);
            REQUIRE(::lseek(fd, at, SEEK_SET) == at);
            CHECK(err(s.k.set_end_of_file(b, w)) == Win32Error::ERROR_USER_MAPPED_FILE);
            CHECK(s.host_size(kHost) == 8192);
        }
        // Once the mapping is gone, shrinking works again.
        REQUIRE(s.k.close_handle(a, m).ok());
        REQUIRE(::lseek(fd, 100, SEEK_SET) == 100);
        auto r = s.k.set_end_of_file(b, w);
        REQUIRE(r.ok());
        CHECK(r.value() == 100);
        CHECK(s.host_size(kHost) == 100);
    }
    SECTION("through the taken-over CreateFileForMapping handle") {
        auto h = must(s.cffm(a, kFile, kGRW));
        auto m = must(s.map_file(a, h, kRW));
        auto v = s.view(a, m);
        int fd = fd_of(s, a, h);
        REQUIRE(::lseek(fd, 4096, SEEK_SET) == 4096);
        CHECK(err(s.k.set_end_of_file(a, h)) == Win32Error::ERROR_USER_MAPPED_FILE);
        CHECK(err(s.k.set_end_of_file(b, h)) == Win32Error::ERROR_USER_MAPPED_FILE);
        CHECK(s.host_size(kHost) == 8192);
        (void)v;
    }
}

TEST_CASE("DeleteFile of an open file fails with ERROR_SHARING_VIOLATION", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, std::string(4096, 'x'));
    SECTION("a plain handle, even one that shares everything") {
        auto h = must(s.open(a, kFile, kGR, kSRW | kShareDelete, kOpenExisting));
        CHECK(err(s.k.delete_file(kFile)) == Win32Error::ERROR_SHARING_VIOLATION);
        CHECK(s.host_size(kHost) == 4096);
        REQUIRE(s.k.close_handle(a, h).ok());
    }
    SECTION("a mapped file whose CreateFileForMapping handle was taken over") {
        auto h = must(s.cffm(a, kFile, kGRW));
        auto m = must(s.map_file(a, h, kRW));
        CHECK(err(s.k.delete_file(kFile)) == Win32Error::ERROR_SHARING_VIOLATION);
        CHECK(s.host_size(kHost) == 4096);
        REQUIRE(s.k.close_handle(a, m).ok());
    }
    CHECK(s.k.delete_file(kFile).ok());
    CHECK_FALSE(std::filesystem::exists(s.host(kHost)));
}

TEST_CASE("MoveFile of an open file or of a folder holding one fails with "
          "ERROR_SHARING_VIOLATION",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    REQUIRE(s.k.create_directory(u"\\Temp\\d").ok());
    s.write_host("Temp/d/f.txt", "data");
    auto h = must(s.open(a, u"\\Temp\\d\\f.txt", kGR, kSRW | kShareDelete, kOpenExisting));
    CHECK(err(s.k.move_file(u"\\Temp\\d\\f.txt", u"\\Temp\\g.txt")) ==
          Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.k.move_file(u"\\Temp\\d", u"\\Temp\\e")) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.k.move_file(u"\\TEMP", u"\\Temp2")) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(std::filesystem::exists(s.host("Temp/d/f.txt")));
    REQUIRE(s.k.close_handle(a, h).ok());
    CHECK(s.k.move_file(u"\\Temp\\d", u"\\Temp\\e").ok());
    CHECK(s.k.move_file(u"\\Temp\\e\\f.txt", u"\\Temp\\g.txt").ok());
    CHECK(s.read_host("Temp/g.txt") == "data");
}

TEST_CASE("CREATE_ALWAYS and TRUNCATE_EXISTING on a mapped file fail and leave it intact",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    auto b = s.attach();
    const std::string data(4096, 'm');
    s.write_host(kHost, data);
    const uint32_t disposition = GENERATE(kCreateAlways, kTruncateExisting);
    INFO("disposition " << disposition);
    // Kernel::create_file checks sharing first ("before anything touches the file"), then the
    // mapping. So the error depends on whether the CFFM handle behind the mapping admits the
    // new open: if it does not, ERROR_SHARING_VIOLATION wins; if it does, the mapping gives
    // ERROR_USER_MAPPED_FILE (docs/semantics/mappings.md §7, CREATE_ALWAYS on a mapped file).
    SECTION("an exclusive CreateFileForMapping handle: the sharing check comes first") {
        auto h = must(s.cffm(a, kFile, kGRW));
        must(s.map_file(a, h, kRW));
        CHECK(err(s.open(b, kFile, kGRW, kSRW, disposition)) ==
              Win32Error::ERROR_SHARING_VIOLATION);
    }
    SECTION("a CreateFileForMapping handle sharing reads and writes: the mapping refuses") {
        auto h = must(s.cffm(a, kFile, kGRW, kOverride));
        must(s.map_file(a, h, kRW));
        CHECK(err(s.open(b, kFile, kGRW, kSRW, disposition)) ==
              Win32Error::ERROR_USER_MAPPED_FILE);
    }
    SECTION("CREATE_ALWAYS with access 0 shares everything, so the mapping refuses") {
        auto h = must(s.cffm(a, kFile, kGRW));
        must(s.map_file(a, h, kRW));
        if (disposition == kCreateAlways) {
            CHECK(err(s.open(b, kFile, 0, 0, disposition)) == Win32Error::ERROR_USER_MAPPED_FILE);
        }
    }
    CHECK(s.read_host(kHost) == data);
}

// ---------------------------------------------------------------------------------------------
// Handle rights, file information, searches

TEST_CASE("SetEndOfFile without write access fails with ERROR_ACCESS_DENIED", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    for (uint32_t access : {kGR, 0u}) {
        INFO("access " << access);
        auto h = must(s.open(a, kFile, access, kSRW, kOpenExisting));
        CHECK(err(s.k.set_end_of_file(a, h)) == Win32Error::ERROR_ACCESS_DENIED);
        REQUIRE(s.k.close_handle(a, h).ok());
    }
    CHECK(s.host_size(kHost) == 4);
    // With write access the end of file moves to the file pointer (0 here).
    auto w = must(s.open(a, kFile, kGW, 0, kOpenExisting));
    auto r = s.k.set_end_of_file(a, w);
    REQUIRE(r.ok());
    CHECK(r.value() == 0);
    CHECK(s.host_size(kHost) == 0);
}

TEST_CASE("SetFileTime without write access fails with ERROR_ACCESS_DENIED", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    struct stat before {};
    REQUIRE(::stat(s.host(kHost).c_str(), &before) == 0);
    // 2001-01-01 00:00:00 UTC as a FILETIME.
    const uint64_t t = 126227808000000000ULL;
    for (uint32_t access : {kGR, 0u}) {
        INFO("access " << access);
        auto h = must(s.open(a, kFile, access, kSRW, kOpenExisting));
        CHECK(err(s.k.set_file_time(a, h, std::nullopt, t, t)) ==
              Win32Error::ERROR_ACCESS_DENIED);
        REQUIRE(s.k.close_handle(a, h).ok());
    }
    struct stat after {};
    REQUIRE(::stat(s.host(kHost).c_str(), &after) == 0);
    CHECK(after.st_mtime == before.st_mtime);
    auto w = must(s.open(a, kFile, kGW, 0, kOpenExisting));
    CHECK(s.k.set_file_time(a, w, std::nullopt, t, t).ok());
    REQUIRE(::stat(s.host(kHost).c_str(), &after) == 0);
    CHECK(after.st_mtime == 978307200);
}

TEST_CASE("GetFileInformationByHandle returns the size and the attributes", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, std::string(1234, 'x'));
    REQUIRE(s.k.set_attributes(kFile, fsys::kAttrHidden | fsys::kAttrArchive).ok());
    auto h = must(s.open(a, kFile, kGR, 0, kOpenExisting));
    auto info = s.k.file_info(a, h);
    REQUIRE(info.ok());
    CHECK(info->size == 1234);
    CHECK(info->attributes == (fsys::kAttrHidden | fsys::kAttrArchive));
    struct stat st {};
    REQUIRE(::stat(s.host(kHost).c_str(), &st) == 0);
    CHECK(info->id.ino == st.st_ino);
    // The handle is its opener's only.
    auto b = s.attach();
    CHECK(err(s.k.file_info(b, h)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("FindFirstFile and FindNextFile list the entries in order and end with "
          "ERROR_NO_MORE_FILES",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    REQUIRE(s.k.create_directory(u"\\Temp\\f").ok());
    s.write_host("Temp/f/b.txt", "bb");
    s.write_host("Temp/f/A.txt", "a");
    s.write_host("Temp/f/c.txt", "ccc");
    REQUIRE(s.k.create_directory(u"\\Temp\\f\\Bdir").ok());
    fsys::FindEntry first;
    auto h = s.k.find_first(a, u"\\Temp\\f\\*", first);
    REQUIRE(h.ok());
    std::vector<std::string> names{ascii(first.name)};
    CHECK(first.size == 1);
    for (;;) {
        auto next = s.k.find_next(a, h.value());
        if (!next.ok()) {
            CHECK(next.error() == Win32Error::ERROR_NO_MORE_FILES);
            break;
        }
        names.push_back(ascii(next->name));
        if (names.back() == "Bdir") CHECK((next->attributes & fsys::kAttrDirectory) != 0);
        if (names.back() == "c.txt") CHECK(next->size == 3);
    }
    CHECK(names == std::vector<std::string>{"A.txt", "b.txt", "Bdir", "c.txt"});
    // Exhausted stays exhausted.
    CHECK(err(s.k.find_next(a, h.value())) == Win32Error::ERROR_NO_MORE_FILES);
    CHECK(s.k.find_close(a, h.value()).ok());
    CHECK(err(s.k.find_next(a, h.value())) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.find_close(a, h.value())) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("FindClose on a handle that is not a search fails with ERROR_INVALID_HANDLE",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    auto f = must(s.open(a, kFile, kGR, 0, kOpenExisting));
    auto m = s.make(a, 4096);
    CHECK(err(s.k.find_close(a, f)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.find_close(a, m)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.find_close(a, HandleValue{0x12345678})) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(err(s.k.find_next(a, f)) == Win32Error::ERROR_INVALID_HANDLE);
    // Neither handle was closed.
    CHECK(s.k.file_descriptor(a, f).ok());
    CHECK(s.k.close_handle(a, m).ok());
    // Nor may another process close a's search.
    auto b = s.attach();
    fsys::FindEntry first;
    auto search = s.k.find_first(a, u"\\Temp\\*", first);
    REQUIRE(search.ok());
    CHECK(err(s.k.find_close(b, search.value())) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.k.find_close(a, search.value()).ok());
}

TEST_CASE("FindFirstFile without a match fails with ERROR_FILE_NOT_FOUND", "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    s.write_host(kHost, "data");
    fsys::FindEntry first;
    CHECK(err(s.k.find_first(a, u"\\Temp\\*.none", first)) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.k.find_first(a, u"\\Temp\\b.txt", first)) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("FindFirstFile in a missing directory fails with ERROR_PATH_NOT_FOUND",
          "[unit][file]") {
    FileScene s;
    auto a = s.attach();
    fsys::FindEntry first;
    CHECK(err(s.k.find_first(a, u"\\Temp\\missing\\*", first)) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(s.object_handles() == 0);
}

// ---------------------------------------------------------------------------------------------
// A file mapping's data: one set of pages for the descriptor, the views and the disk

namespace {

// A file mapping of `size` bytes over kFile (created with `contents`) and its first view,
// plus the test's own MAP_SHARED mapping of the descriptor the view hands out.
struct MappedFile {
    explicit MappedFile(FileScene& scene, const std::string& contents)
        : s(scene), a(scene.attach()) {
        s.write_host(kHost, contents);
        file = must(s.cffm(a, kFile, kGRW));
        mapping = must(s.map_file(a, file, kRW));
        v = s.view(a, mapping);
        REQUIRE(v.kernel_fd >= 0);
        bytes = v.map_length;
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v.kernel_fd, 0);
        REQUIRE(p != MAP_FAILED);
        mem = static_cast<char*>(p);
    }
    ~MappedFile() { unmap(); }
    void unmap() {
        if (mem != nullptr) ::munmap(mem, bytes);
        mem = nullptr;
    }

    FileScene& s;
    ProcessId a;
    HandleValue file{};
    HandleValue mapping{};
    MapViewResult v{};
    uint64_t bytes = 0;
    char* mem = nullptr;
};

}  // namespace

TEST_CASE("Data written through the file's descriptor is seen through the mapping",
          "[unit][file]") {
    FileScene s;
    MappedFile mf(s, std::string(8192, '.'));
    int fd = fd_of(s, mf.a, mf.file);
    const std::string text = "written by pwrite";
    REQUIRE(::pwrite(fd, text.data(), text.size(), 5000) == static_cast<ssize_t>(text.size()));
    CHECK(std::string(mf.mem + 5000, text.size()) == text);
    CHECK(mf.mem[4999] == '.');
}

TEST_CASE("Data written through the mapping is seen through the file's descriptor",
          "[unit][file][ce5]") {
    FileScene s(config_of(5));
    MappedFile mf(s, std::string(8192, '.'));
    const std::string text = "written by the view";
    std::memcpy(mf.mem + 100, text.data(), text.size());
    auto b = s.attach();
    int fd = fd_of(s, b, mf.file);  // any process may use the kernel-owned handle
    CHECK(pread_all(fd, text.size(), 100) == text);
}

TEST_CASE("FlushViewOfFile on a file mapping succeeds", "[unit][file][ce5]") {
    FileScene s(config_of(5));
    MappedFile mf(s, std::string(8192, '.'));
    std::memcpy(mf.mem, "dirty", 5);
    auto whole = s.k.flush_view(mf.a, mf.v.address, 0);
    REQUIRE(whole.has_value());
    CHECK(whole->ok());
    auto part = s.k.flush_view(mf.a, mf.v.address + 4000, 10);
    REQUIRE(part.has_value());
    CHECK(part->ok());
    // Any process may flush any mapping (CE 5).
    auto b = s.attach();
    auto other = s.k.flush_view(b, mf.v.address + 1, 1);
    REQUIRE(other.has_value());
    CHECK(other->ok());
    CHECK(s.read_host(kHost).substr(0, 5) == "dirty");
}

TEST_CASE("A file mapping's data is on disk after the mapping is destroyed", "[unit][file]") {
    FileScene s;
    MappedFile mf(s, std::string(4096, '.'));
    std::memcpy(mf.mem + 10, "persisted", 9);
    mf.unmap();
    REQUIRE(s.k.close_handle(mf.a, mf.mapping).ok());
    REQUIRE(s.k.unmap_view(mf.a, mf.v.address).ok());
    CHECK(err(s.k.file_descriptor(mf.a, mf.file)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
    const std::string disk = s.read_host(kHost);
    REQUIRE(disk.size() == 4096);
    CHECK(disk.substr(10, 9) == "persisted");
    CHECK(disk.substr(0, 10) == std::string(10, '.'));
}

// ---------------------------------------------------------------------------------------------
// No file system

TEST_CASE("A kernel without a file system fails CreateFileW with ERROR_NOT_SUPPORTED",
          "[unit][file]") {
    Scene s;
    auto a = s.attach();
    kernel::CreateFileArgs args;
    args.path = kFile;
    args.access = kGRW;
    args.disposition = kOpenAlways;
    LastError le = untouched();
    CHECK(err(s.k.create_file(a, args, le)) == Win32Error::ERROR_NOT_SUPPORTED);
    args.for_mapping = true;
    CHECK(err(s.k.create_file(a, args, le)) == Win32Error::ERROR_NOT_SUPPORTED);
    CHECK(le.code == Win32Error::ERROR_FILE_NOT_FOUND);  // untouched
    fsys::FindEntry first;
    CHECK(err(s.k.find_first(a, u"\\Temp\\*", first)) == Win32Error::ERROR_NOT_SUPPORTED);
    CHECK(err(s.k.delete_file(kFile)) == Win32Error::ERROR_NOT_SUPPORTED);
    CHECK(s.object_handles() == 0);
}
