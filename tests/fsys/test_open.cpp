// Root::open_file: every disposition row, path errors, directories, READONLY, descriptors.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

constexpr uint32_t kCreateNew = 1, kCreateAlways = 2, kOpenExisting = 3, kOpenAlways = 4,
                   kTruncateExisting = 5;

cek::Result<OpenedFile> open(Root& r, std::u16string_view p, uint32_t disposition,
                             bool read = true, bool write = false, uint32_t attrs = 0,
                             bool allow_directory = false) {
    OpenRequest req;
    req.read = read;
    req.write = write;
    req.disposition = disposition;
    req.attributes = attrs;
    req.allow_directory = allow_directory;
    return r.open_file(p, req);
}

}  // namespace

TEST_CASE("CREATE_NEW creates a missing file and refuses an existing one", "[fsys][unit]") {
    StoreFixture s;
    auto r = open(s.root(), u"\\Temp\\a.txt", kCreateNew, true, true);
    REQUIRE(r.ok());
    CHECK_FALSE(r->existed);
    CHECK(std::filesystem::is_regular_file(s.host("Temp/a.txt")));
    CHECK(err(open(s.root(), u"\\Temp\\a.txt", kCreateNew, true, true)) ==
          Win32Error::ERROR_FILE_EXISTS);
    CHECK(err(open(s.root(), u"\\TEMP\\A.TXT", kCreateNew)) == Win32Error::ERROR_FILE_EXISTS);
}

TEST_CASE("CREATE_ALWAYS truncates an existing file and reports that it existed",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "old contents");
    auto r = open(s.root(), u"\\Temp\\a.txt", kCreateAlways, true, true);
    REQUIRE(r.ok());
    CHECK(r->existed);
    CHECK(std::filesystem::file_size(s.host("Temp/a.txt")) == 0);
    auto fresh = open(s.root(), u"\\Temp\\b.txt", kCreateAlways, true, true);
    REQUIRE(fresh.ok());
    CHECK_FALSE(fresh->existed);
}

TEST_CASE("CREATE_ALWAYS truncates even without write access", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "old contents");
    auto r = open(s.root(), u"\\Temp\\a.txt", kCreateAlways, true, false);
    REQUIRE(r.ok());
    CHECK(std::filesystem::file_size(s.host("Temp/a.txt")) == 0);
    CHECK((::fcntl(r->fd.get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
}

TEST_CASE("OPEN_EXISTING opens without truncating and fails on a missing file",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "keep");
    auto r = open(s.root(), u"\\Temp\\a.txt", kOpenExisting);
    REQUIRE(r.ok());
    CHECK(r->existed);
    CHECK(read_fd(r->fd.get()) == "keep");
    CHECK(err(open(s.root(), u"\\Temp\\none.txt", kOpenExisting)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("OPEN_ALWAYS opens an existing file intact or creates a missing one",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "keep");
    auto r = open(s.root(), u"\\Temp\\a.txt", kOpenAlways, true, true);
    REQUIRE(r.ok());
    CHECK(r->existed);
    CHECK(read_fd(r->fd.get()) == "keep");
    auto created = open(s.root(), u"\\Temp\\new.txt", kOpenAlways, true, true);
    REQUIRE(created.ok());
    CHECK_FALSE(created->existed);
    CHECK(std::filesystem::exists(s.host("Temp/new.txt")));
}

TEST_CASE("TRUNCATE_EXISTING truncates with write and fails on a missing file",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "old");
    auto r = open(s.root(), u"\\Temp\\a.txt", kTruncateExisting, false, true);
    REQUIRE(r.ok());
    CHECK(r->existed);
    CHECK(std::filesystem::file_size(s.host("Temp/a.txt")) == 0);
    CHECK(err(open(s.root(), u"\\Temp\\none.txt", kTruncateExisting, false, true)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("TRUNCATE_EXISTING without write is ERROR_INVALID_PARAMETER before any I/O",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "old");
    CHECK(err(open(s.root(), u"\\Temp\\a.txt", kTruncateExisting, true, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(open(s.root(), u"\\Temp\\a.txt", kTruncateExisting, false, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(err(open(s.root(), u"\\Temp\\none.txt", kTruncateExisting, true, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(read_host_file(s.host("Temp/a.txt")) == "old");
}

TEST_CASE("A disposition outside 1..5 is ERROR_INVALID_PARAMETER", "[fsys][unit]") {
    StoreFixture s;
    for (uint32_t d : {0u, 6u, 0xFFFFFFFFu}) {
        INFO("disposition " << d);
        CHECK(err(open(s.root(), u"\\Temp\\x.txt", d, true, true)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/x.txt")));
}

TEST_CASE("A missing intermediate directory is ERROR_PATH_NOT_FOUND", "[fsys][unit]") {
    StoreFixture s;
    CHECK(err(open(s.root(), u"\\nodir\\a.txt", kOpenExisting)) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(open(s.root(), u"\\nodir\\a.txt", kCreateAlways, true, true)) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    write_host_file(s.host("Temp/file"), "x");
    CHECK(err(open(s.root(), u"\\Temp\\file\\a.txt", kOpenAlways)) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("Empty and malformed paths fail with their codes", "[fsys][unit]") {
    StoreFixture s;
    CHECK(err(open(s.root(), u"", kOpenExisting)) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(open(s.root(), u"\\Temp\\a*.txt", kCreateAlways)) ==
          Win32Error::ERROR_INVALID_NAME);
    CHECK(err(open(s.root(), u"\\Temp\\" + std::u16string(256, u'a'), kCreateAlways)) ==
          Win32Error::ERROR_FILENAME_EXCED_RANGE);
    // 100 CJK characters are 300 UTF-8 bytes: too long for the host name limit.
    CHECK(err(open(s.root(), u"\\Temp\\" + std::u16string(100, u'\u4e2d'), kCreateAlways)) ==
          Win32Error::ERROR_FILENAME_EXCED_RANGE);
}

TEST_CASE("An existing directory opened as a file is ERROR_ACCESS_DENIED", "[fsys][unit]") {
    StoreFixture s;
    for (uint32_t d : {kCreateNew, kCreateAlways, kOpenExisting, kOpenAlways}) {
        INFO("disposition " << d);
        CHECK(err(open(s.root(), u"\\Windows", d)) == Win32Error::ERROR_ACCESS_DENIED);
    }
    CHECK(err(open(s.root(), u"\\Windows", kTruncateExisting, true, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open(s.root(), u"\\", kOpenExisting)) == Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("A directory opens when the caller allows it", "[fsys][unit]") {
    StoreFixture s;
    auto r = open(s.root(), u"\\windows", kOpenExisting, true, false, 0, true);
    REQUIRE(r.ok());
    CHECK(r->is_directory);
    CHECK(r->ce_path == u"\\Windows");
    auto attrs = s.root().get_attributes(r->fd.get());
    REQUIRE(attrs.ok());
    CHECK(*attrs == kAttrDirectory);
    auto root = open(s.root(), u"\\", kOpenExisting, true, false, 0, true);
    REQUIRE(root.ok());
    CHECK(root->ce_path == u"\\");
    CHECK(err(open(s.root(), u"\\Windows", kCreateNew, true, false, 0, true)) ==
          Win32Error::ERROR_FILE_EXISTS);
    CHECK(err(open(s.root(), u"\\Windows", kCreateAlways, true, true, 0, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("The result carries the real-case path and the file identity", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/MixedCase.TXT"), "x");
    auto a = open(s.root(), u"/temp/./mixedcase.txt", kOpenExisting);
    REQUIRE(a.ok());
    CHECK(a->ce_path == u"\\Temp\\MixedCase.TXT");
    auto b = open(s.root(), u"\\TEMP\\MIXEDCASE.TXT", kOpenExisting);
    REQUIRE(b.ok());
    CHECK(a->id == b->id);
    struct stat st{};
    REQUIRE(::stat(s.host("Temp/MixedCase.TXT").c_str(), &st) == 0);
    CHECK(a->id.ino == st.st_ino);
    auto other = open(s.root(), u"\\Temp\\other.txt", kCreateNew);
    REQUIRE(other.ok());
    CHECK_FALSE(other->id == a->id);
    CHECK(other->ce_path == u"\\Temp\\other.txt");
}

TEST_CASE("The real-case path of a deep file, whichever way its directories were found",
          "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Deep/Er/Still"));
    write_host_file(s.host("Temp/Deep/Er/Still/File.txt"), "x");
    // Every directory in another case: the component walk finds each one.
    auto walked = open(s.root(), u"\\temp\\deep\\er\\still\\file.TXT", kOpenExisting);
    REQUIRE(walked.ok());
    CHECK(walked->ce_path == u"\\Temp\\Deep\\Er\\Still\\File.txt");
    // Directories as spelled beyond the cached levels (one openat2), the leaf in another case.
    auto deep = open(s.root(), u"\\Temp\\Deep\\Er\\Still\\FILE.txt", kOpenExisting);
    REQUIRE(deep.ok());
    CHECK(deep->ce_path == u"\\Temp\\Deep\\Er\\Still\\File.txt");
    // Cached levels as spelled, a deeper one in another case.
    auto mixed = open(s.root(), u"\\Temp\\Deep\\ER\\Still\\File.txt", kOpenExisting);
    REQUIRE(mixed.ok());
    CHECK(mixed->ce_path == u"\\Temp\\Deep\\Er\\Still\\File.txt");
    // A new file: the leaf as the caller wrote it, the directories as found.
    auto created = open(s.root(), u"\\TEMP\\deep\\New.txt", kCreateNew);
    REQUIRE(created.ok());
    CHECK(created->ce_path == u"\\Temp\\Deep\\New.txt");
}

TEST_CASE("Descriptors are close-on-exec and opened for the access asked", "[fsys][unit]") {
    StoreFixture s;
    auto rw = open(s.root(), u"\\Temp\\a", kCreateNew, false, true);
    REQUIRE(rw.ok());
    CHECK((::fcntl(rw->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((::fcntl(rw->fd.get(), F_GETFL) & O_ACCMODE) == O_RDWR);
    // O_NONBLOCK stays until the kernel hands the descriptor out, and then goes alone.
    CHECK(rw->nonblocking);
    CHECK((::fcntl(rw->fd.get(), F_GETFL) & O_NONBLOCK) != 0);
    REQUIRE(drop_nonblocking(rw->fd.get()) == 0);
    CHECK((::fcntl(rw->fd.get(), F_GETFL) & O_NONBLOCK) == 0);
    CHECK((::fcntl(rw->fd.get(), F_GETFL) & O_ACCMODE) == O_RDWR);
    auto ro = open(s.root(), u"\\Temp\\a", kOpenExisting, true, false);
    REQUIRE(ro.ok());
    CHECK((::fcntl(ro->fd.get(), F_GETFL) & O_ACCMODE) == O_RDONLY);
}

TEST_CASE("write_through gives a writable regular file O_DSYNC, whether it exists or not",
          "[fsys][unit]") {
    StoreFixture s;
    OpenRequest req;
    req.read = req.write = req.write_through = true;
    req.disposition = kCreateNew;
    auto created = s.root().open_file(u"\\Temp\\wt", req);
    REQUIRE(created.ok());
    CHECK((::fcntl(created->fd.get(), F_GETFL) & O_DSYNC) == O_DSYNC);
    REQUIRE(drop_nonblocking(created->fd.get()) == 0);
    CHECK((::fcntl(created->fd.get(), F_GETFL) & (O_NONBLOCK | O_DSYNC)) == O_DSYNC);
    req.disposition = kOpenExisting;
    auto existing = s.root().open_file(u"\\Temp\\wt", req);  // the whole-path fast path
    REQUIRE(existing.ok());
    CHECK((::fcntl(existing->fd.get(), F_GETFL) & O_DSYNC) == O_DSYNC);
    auto other_case = s.root().open_file(u"\\TEMP\\WT", req);  // the component walk
    REQUIRE(other_case.ok());
    CHECK((::fcntl(other_case->fd.get(), F_GETFL) & O_DSYNC) == O_DSYNC);
    // Without write there is nothing to write through; without the flag, no O_DSYNC.
    req.write = false;
    auto read_only = s.root().open_file(u"\\Temp\\wt", req);
    REQUIRE(read_only.ok());
    CHECK((::fcntl(read_only->fd.get(), F_GETFL) & O_DSYNC) == 0);
    auto plain = open(s.root(), u"\\Temp\\wt", kOpenExisting, true, true);
    REQUIRE(plain.ok());
    CHECK((::fcntl(plain->fd.get(), F_GETFL) & O_DSYNC) == 0);
}

TEST_CASE("Access 0 still yields a descriptor usable for fstat and attributes",
          "[fsys][unit]") {
    StoreFixture s;
    auto r = open(s.root(), u"\\Temp\\h.txt", kCreateNew, false, false, kAttrHidden);
    REQUIRE(r.ok());
    struct stat st{};
    CHECK(::fstat(r->fd.get(), &st) == 0);
    char buf[32];
    CHECK(::fgetxattr(r->fd.get(), "user.DOSATTRIB", buf, sizeof buf) > 0);
    auto attrs = s.root().get_attributes(r->fd.get());
    REQUIRE(attrs.ok());
    CHECK(*attrs == (kAttrHidden | kAttrArchive));
}

TEST_CASE("A file created READONLY exists but refuses later write opens", "[fsys][unit]") {
    StoreFixture s;
    auto r = open(s.root(), u"\\Temp\\ro.txt", kCreateNew, true, true, kAttrReadonly);
    REQUIRE(r.ok());
    CHECK(::write(r->fd.get(), "data", 4) == 4);  // the creating handle keeps its access
    r->fd.reset();
    CHECK(err(open(s.root(), u"\\Temp\\ro.txt", kOpenExisting, true, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open(s.root(), u"\\Temp\\ro.txt", kOpenAlways, false, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open(s.root(), u"\\Temp\\ro.txt", kCreateAlways, true, false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open(s.root(), u"\\Temp\\ro.txt", kTruncateExisting, true, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    auto ro = open(s.root(), u"\\Temp\\ro.txt", kOpenExisting, true, false);
    REQUIRE(ro.ok());
    CHECK(read_fd(ro->fd.get()) == "data");
    CHECK((std::filesystem::status(s.host("Temp/ro.txt")).permissions() &
           std::filesystem::perms::owner_write) == std::filesystem::perms::none);
}

TEST_CASE("CREATE_ALWAYS replaces the attributes of an existing file", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(open(s.root(), u"\\Temp\\a", kCreateNew, true, true, kAttrHidden).ok());
    REQUIRE(open(s.root(), u"\\Temp\\a", kCreateAlways, true, true, kAttrSystem).ok());
    CHECK(*s.root().get_attributes(u"\\Temp\\a") == (kAttrSystem | kAttrArchive));
}

TEST_CASE("Names reserved for fsys cannot be opened or created", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/.cek~tmp.1"), "x");
    CHECK(err(open(s.root(), u"\\Temp\\.cek~tmp.1", kOpenExisting)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(open(s.root(), u"\\Temp\\.CEK~new", kCreateAlways, true, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("Non-ASCII names become UTF-8 host names", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(open(s.root(), u"\\Temp\\\u00e9t\u00e9 \U0001F600.txt", kCreateNew).ok());
    CHECK(std::filesystem::exists(s.host("Temp/\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80.txt")));
    auto r = open(s.root(), u"\\temp\\\u00c9T\u00c9 \U0001F600.TXT", kOpenExisting);
    REQUIRE(r.ok());
    CHECK(r->ce_path == u"\\Temp\\\u00e9t\u00e9 \U0001F600.txt");
}

TEST_CASE("A special file in the store cannot be opened", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(::mkfifo(s.host("Temp/fifo").c_str(), 0666) == 0);
    CHECK(err(open(s.root(), u"\\Temp\\fifo", kOpenExisting)) == Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("a host open failing for a file in the root is reported once, not retried forever",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("top.txt"), "x");
    // Make every new descriptor fail with EMFILE: the soft limit at the lowest free number.
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    const int lowest_free = ::dup(0);
    REQUIRE(lowest_free >= 0);
    ::close(lowest_free);
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(lowest_free);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
    auto exact = open(s.root(), u"\\top.txt", kOpenExisting);
    auto miscased = open(s.root(), u"\\TOP.TXT", kOpenExisting);
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    CHECK(err(exact) == Win32Error::ERROR_TOO_MANY_OPEN_FILES);
    CHECK(err(miscased) == Win32Error::ERROR_TOO_MANY_OPEN_FILES);
}
