// The directory-descriptor cache (fsys/dir_fds.h) and the exact-case hint of lookups: cached
// directories are used only while the host still has them at their path, and a name missing as
// spelled is still found in another case.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

cek::Result<OpenedFile> fds_open(Root& r, std::u16string_view p) {
    OpenRequest req;
    req.read = true;
    req.disposition = 3;  // OPEN_EXISTING
    return r.open_file(p, req);
}

std::string fds_content(Root& r, std::u16string_view p) {
    auto f = fds_open(r, p);
    if (!f) return "<error " + std::to_string(static_cast<int>(f.error())) + ">";
    return read_fd(f->fd.get());
}

Win32Error fds_attr_error(Root& r, std::u16string_view p) {
    auto a = r.get_attributes(p);
    return a ? Win32Error::ERROR_SUCCESS : a.error();
}

std::u16string fds_wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

}  // namespace

TEST_CASE("Directories near the root are walked through cached descriptors", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Sub"));
    write_host_file(s.host("Temp/Sub/f"), "one");
    REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Sub\\missing") ==
            Win32Error::ERROR_FILE_NOT_FOUND);
    const auto before = s.root().dir_fd_stats();
    CHECK(before.opens == 2);  // \Temp and \Temp\Sub
    for (int i = 0; i < 5; ++i) {
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\missing") ==
              Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f") == Win32Error::ERROR_SUCCESS);
    }
    CHECK(s.root().dir_fd_stats().opens == before.opens);
    CHECK(s.root().dir_fd_stats().hits >= before.hits + 20);
}

TEST_CASE("A cached directory renamed or replaced on the host is not used by its old path",
          "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Sub"));
    write_host_file(s.host("Temp/Sub/f1"), "one");
    REQUIRE(fds_content(s.root(), u"\\Temp\\Sub\\f1") == "one");
    REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Sub\\f2") == Win32Error::ERROR_FILE_NOT_FOUND);

    SECTION("the directory itself") {
        std::filesystem::rename(s.host("Temp/Sub"), s.host("Temp/Old"));
        std::filesystem::create_directories(s.host("Temp/Sub"));
        write_host_file(s.host("Temp/Sub/f2"), "two");
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f1") == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(fds_content(s.root(), u"\\Temp\\Sub\\f2") == "two");
        CHECK(fds_content(s.root(), u"\\Temp\\Old\\f1") == "one");
        CHECK(s.root().dir_fd_stats().stale >= 1);
    }
    SECTION("its parent") {
        std::filesystem::rename(s.host("Temp"), s.host("Gone"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f1") == Win32Error::ERROR_PATH_NOT_FOUND);
        std::filesystem::create_directories(s.host("Temp/Sub"));
        write_host_file(s.host("Temp/Sub/f2"), "two");
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f1") == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(fds_content(s.root(), u"\\Temp\\Sub\\f2") == "two");
    }
    SECTION("removed") {
        std::filesystem::remove_all(s.host("Temp/Sub"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f1") == Win32Error::ERROR_PATH_NOT_FOUND);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    SECTION("by a symlink to where it went") {
        std::filesystem::rename(s.host("Temp/Sub"), s.host("../elsewhere"));
        std::filesystem::create_directory_symlink(s.host("../elsewhere"), s.host("Temp/Sub"));
        const Win32Error cached = fds_attr_error(s.root(), u"\\Temp\\Sub\\f1");
        CHECK(cached != Win32Error::ERROR_SUCCESS);
        CHECK(err(fds_open(s.root(), u"\\Temp\\Sub\\f1")) != Win32Error::ERROR_SUCCESS);
        s.reopen();  // a Root that never cached anything says the same
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\f1") == cached);
    }
}

TEST_CASE("A name missing as spelled is still found in another case", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Sub"));
    write_host_file(s.host("ReadMe.TXT"), "root");
    write_host_file(s.host("Temp/ReadMe.TXT"), "temp");
    write_host_file(s.host("Temp/Sub/ReadMe.TXT"), "sub");
    for (int round = 0; round < 2; ++round) {  // cold, then through the cached directories
        CHECK(fds_content(s.root(), u"\\README.txt") == "root");
        CHECK(fds_content(s.root(), u"\\Temp\\readme.txt") == "temp");
        CHECK(fds_content(s.root(), u"\\Temp\\Sub\\README.TXT") == "sub");
        CHECK(fds_content(s.root(), u"\\TEMP\\SUB\\readme.TXT") == "sub");
        CHECK(fds_attr_error(s.root(), u"\\temp\\sub\\readme.txt") == Win32Error::ERROR_SUCCESS);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\ReadMe.TXT2") ==
              Win32Error::ERROR_FILE_NOT_FOUND);
    }
    // Two host names that fold alike: the one spelled exactly wins, even when the directories
    // are spelled in another case (the whole path's miss then says nothing about the leaf).
    write_host_file(s.host("Temp/Sub/twin"), "lower");
    write_host_file(s.host("Temp/Sub/TWIN"), "upper");
    CHECK(fds_content(s.root(), u"\\Temp\\Sub\\twin") == "lower");
    CHECK(fds_content(s.root(), u"\\TEMP\\SUB\\twin") == "lower");
    CHECK(fds_content(s.root(), u"\\temp\\sub\\TWIN") == "upper");
    // Created as spelled after a miss: found at once.
    CHECK(fds_attr_error(s.root(), u"\\Temp\\Sub\\New") == Win32Error::ERROR_FILE_NOT_FOUND);
    write_host_file(s.host("Temp/Sub/New"), "new");
    CHECK(fds_content(s.root(), u"\\Temp\\Sub\\New") == "new");
    CHECK(fds_content(s.root(), u"\\temp\\sub\\NEW") == "new");
}

TEST_CASE("More directories than the cache holds are all still found", "[fsys][unit]") {
    StoreFixture s;
    const int dirs = static_cast<int>(DirFds::kMaxEntries) + 10;
    for (int i = 0; i < dirs; ++i) {
        const std::string d = "D" + std::to_string(i);
        std::filesystem::create_directories(s.host(d));
        write_host_file(s.host(d + "/f"), d);
    }
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < dirs; ++i) {
            const std::string d = "D" + std::to_string(i);
            INFO(d);
            CHECK(fds_content(s.root(), u"\\" + fds_wide(d) + u"\\f") == d);
        }
    }
}

TEST_CASE("A copy keeps its directories after the cache lets them go", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/A"));
    std::filesystem::create_directories(s.host("Temp/B"));
    write_host_file(s.host("Temp/A/src"), std::string(100'000, 'x'));
    auto job = s.root().copy_begin(u"\\Temp\\A\\src", u"\\Temp\\B\\dst", true);
    REQUIRE(job.ok());
    for (size_t i = 0; i < DirFds::kMaxEntries + 1; ++i) {  // every cached descriptor dropped
        const std::string d = "E" + std::to_string(i);
        std::filesystem::create_directories(s.host(d));
        REQUIRE(fds_attr_error(s.root(), u"\\" + fds_wide(d) + u"\\x") ==
                Win32Error::ERROR_FILE_NOT_FOUND);
    }
    for (;;) {
        auto done = (*job)->step(4096);
        REQUIRE(done.ok());
        if (*done) break;
    }
    REQUIRE(s.root().copy_finish(**job).ok());
    CHECK(read_host_file(s.host("Temp/B/dst")) == std::string(100'000, 'x'));
}

TEST_CASE("A missing name is answered from a trusted listing, and changes are still seen",
          "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Db"));
    write_host_file(s.host("Temp/Db/app.db"), "db");
    settle();
    REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db-journal") ==
            Win32Error::ERROR_FILE_NOT_FOUND);
    const auto builds = s.root().cache_stats().builds;
    for (int i = 0; i < 10; ++i) {
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db-journal") ==
              Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(s.root().path_info(u"\\Temp\\Db\\app.db-journal").error() ==
              Win32Error::ERROR_FILE_NOT_FOUND);
    }
    CHECK(s.root().cache_stats().builds == builds);  // answered from the listing

    // Made on the host, exactly as spelled: seen at once.
    write_host_file(s.host("Temp/Db/app.db-journal"), "j");
    CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db-journal") == Win32Error::ERROR_SUCCESS);
    REQUIRE(::unlink(s.host("Temp/Db/app.db-journal").c_str()) == 0);
    CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db-journal") ==
          Win32Error::ERROR_FILE_NOT_FOUND);

    // Made through the store (the listing is updated in place), then a host name right after:
    // both are seen, and again once the directory has been quiet (its listing is read again).
    OpenRequest create;
    create.read = create.write = true;
    create.disposition = 1;  // CREATE_NEW
    REQUIRE(s.root().open_file(u"\\Temp\\Db\\app.db-journal", create).ok());
    write_host_file(s.host("Temp/Db/Host"), "h");
    for (int round = 0; round < 2; ++round) {
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\APP.DB-JOURNAL") ==
              Win32Error::ERROR_SUCCESS);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\host") == Win32Error::ERROR_SUCCESS);
        CHECK(s.root().path_info(u"\\Temp\\Db\\app.db-wal").error() ==
              Win32Error::ERROR_FILE_NOT_FOUND);
        settle();
    }
    auto info = s.root().path_info(u"\\temp\\db\\APP.DB");
    REQUIRE(info.ok());
    CHECK(info->size == 2);
}

TEST_CASE("GetFileAttributesExW of the root reports its current times and links",
          "[fsys][unit]") {
    StoreFixture s;
    settle();
    std::filesystem::create_directories(s.host("Added"));  // one more link, a new write time
    auto now = s.root().path_info(u"\\");
    REQUIRE(now.ok());
    struct stat st {};
    REQUIRE(::stat(s.host().c_str(), &st) == 0);
    CHECK(now->links == st.st_nlink);
    OpenRequest look;
    look.allow_directory = true;
    auto opened = s.root().open_file(u"\\", look);
    REQUIRE(opened.ok());
    auto by_fd = s.root().query(opened->fd.get());
    REQUIRE(by_fd.ok());
    CHECK(now->times.last_write == by_fd->times.last_write);
    CHECK(now->attributes == by_fd->attributes);
}

TEST_CASE("Special files are ACCESS_DENIED to GetFileAttributesExW, as to an open",
          "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(::mkfifo(s.host("Temp/fifo").c_str(), 0666) == 0);
    REQUIRE(::mkfifo(s.host("fifo").c_str(), 0666) == 0);
    for (int round = 0; round < 2; ++round) {  // cold, then through the cached directory
        CHECK(err(s.root().path_info(u"\\Temp\\fifo")) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().path_info(u"\\TEMP\\FIFO")) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().path_info(u"\\fifo")) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().path_info(u"\\Temp\\fifo\\x")) == Win32Error::ERROR_PATH_NOT_FOUND);
        settle();
    }
}

TEST_CASE("A slow fill of a large directory through the store reads it once", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/Fill"));
    for (int i = 0; i < 2000; ++i) write_host_file(s.host("Temp/Fill/f" + std::to_string(i)), "");
    settle();
    OpenRequest create;
    create.write = true;
    create.disposition = 1;  // CREATE_NEW
    REQUIRE(s.root().open_file(u"\\Temp\\Fill\\First", create).ok());
    const auto builds = s.root().cache_stats().builds;
    for (int i = 0; i < 10; ++i) {
        settle();  // an application creating a file now and then
        REQUIRE(s.root().open_file(u"\\Temp\\Fill\\New" + fds_wide(std::to_string(i)), create).ok());
    }
    CHECK(s.root().cache_stats().builds - builds <= 1);
}

namespace {

// The file systems DirWatch trusts (fsys/dir_watch.cpp): there the watch must be on.
bool local_store(const std::string& dir) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return false;
    const auto type = static_cast<unsigned long>(fs.f_type);
    return type == 0xEF53 || type == 0x58465342 || type == 0x9123683E || type == 0x01021994;
}

}  // namespace

TEST_CASE("Watched directories need no statx until something changes in them", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(s.root().watching_directories() == local_store(s.host()));
    if (!s.root().watching_directories()) {
        WARN("SKIPPED: the temporary directory is not on a local file system: no watch");
        return;
    }
    std::filesystem::create_directories(s.host("Temp/Db"));
    write_host_file(s.host("Temp/Db/app.db"), "db");
    settle();
    REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    auto trusted = s.root().dir_fd_stats().trusted;
    for (int i = 0; i < 5; ++i) {
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    CHECK(s.root().dir_fd_stats().trusted == trusted + 10);  // \Temp and \Temp\Db, each time

    SECTION("a name made on the host in the watched directory, at once") {
        write_host_file(s.host("Temp/Db/J"), "j");
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_SUCCESS);
        REQUIRE(::unlink(s.host("Temp/Db/J").c_str()) == 0);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    SECTION("the directory renamed on the host, another put in its place") {
        std::filesystem::rename(s.host("Temp/Db"), s.host("Temp/Moved"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db") ==
              Win32Error::ERROR_PATH_NOT_FOUND);
        std::filesystem::create_directories(s.host("Temp/Db"));
        write_host_file(s.host("Temp/Db/j"), "j");
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_SUCCESS);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\app.db") ==
              Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(fds_content(s.root(), u"\\Temp\\Moved\\app.db") == "db");
    }
    SECTION("its parent renamed on the host") {
        std::filesystem::rename(s.host("Temp"), s.host("Gone"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_PATH_NOT_FOUND);
    }
    SECTION("the directory removed on the host") {
        std::filesystem::remove_all(s.host("Temp/Db"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_PATH_NOT_FOUND);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    SECTION("a search after a name was made on the host") {
        write_host_file(s.host("Temp/Db/Journal"), "j");
        auto found = s.root().find_files(u"\\Temp\\Db\\*");
        REQUIRE(found.ok());
        REQUIRE(found->size() == 2);
        CHECK((*found)[1].name == u"Journal");
    }
    SECTION("attributes changed on the host, the directory's or a file's, are not events") {
        // Watching them would slow every read and write of the directory's files; each system
        // call through the directory checks its permissions itself.
        REQUIRE(::chmod(s.host("Temp/Db").c_str(), 0700) == 0);
        trusted = s.root().dir_fd_stats().trusted;
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(s.root().dir_fd_stats().trusted == trusted + 2);  // still trusted
        REQUIRE(s.root().set_attributes(u"\\Temp\\Db\\app.db", 0x1).ok());  // READONLY
        REQUIRE(::chmod(s.host("Temp/Db/app.db").c_str(), 0644) == 0);
        trusted = s.root().dir_fd_stats().trusted;
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(s.root().dir_fd_stats().trusted == trusted + 2);  // still trusted
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
        if (::geteuid() != 0) {  // root passes every permission check
            REQUIRE(::chmod(s.host("Temp/Db").c_str(), 0) == 0);
            auto opened = fds_open(s.root(), u"\\Temp\\Db\\app.db");
            CHECK_FALSE(opened.ok());
            REQUIRE(::chmod(s.host("Temp/Db").c_str(), 0755) == 0);
        }
    }
    SECTION("a change through the store") {
        OpenRequest create;
        create.write = true;
        create.disposition = 1;  // CREATE_NEW
        REQUIRE(s.root().open_file(u"\\Temp\\Db\\j", create).ok());
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\J") == Win32Error::ERROR_SUCCESS);
        REQUIRE(s.root().delete_file(u"\\TEMP\\db\\j").ok());
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    SECTION("after the cache let every directory go") {
        for (size_t i = 0; i < DirFds::kMaxEntries + 1; ++i) {
            const std::string d = "E" + std::to_string(i);
            std::filesystem::create_directories(s.host(d));
            REQUIRE(fds_attr_error(s.root(), u"\\" + fds_wide(d) + u"\\x") ==
                    Win32Error::ERROR_FILE_NOT_FOUND);
        }
        REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
        trusted = s.root().dir_fd_stats().trusted;
        REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(s.root().dir_fd_stats().trusted == trusted + 2);  // watched again
        write_host_file(s.host("Temp/Db/j"), "j");
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_SUCCESS);
        std::filesystem::rename(s.host("Temp/Db"), s.host("Temp/Moved"));
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_PATH_NOT_FOUND);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Moved\\j") == Win32Error::ERROR_SUCCESS);
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Moved\\j") == Win32Error::ERROR_SUCCESS);
        std::filesystem::rename(s.host("Temp"), s.host("Gone"));  // the root's watch, renewed
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Moved\\j") ==
              Win32Error::ERROR_PATH_NOT_FOUND);
    }
}

TEST_CASE("A file known as regular opens without a statx, and host changes are seen at once",
          "[fsys][unit]") {
    StoreFixture s;
    if (!s.root().watching_directories()) {
        WARN("SKIPPED: the temporary directory is not on a local file system: no watch");
        return;
    }
    std::filesystem::create_directories(s.host("Temp/Db"));
    write_host_file(s.host("Temp/Db/app.db"), "db");
    write_host_file(s.host("Top.txt"), "top");
    auto known = [&] { return s.root().dir_fd_stats().known_files; };
    // Opens use the cached directories as they find them: a lookup walks them in first (and
    // sees the change events of the files just made). The first open then notes the file.
    REQUIRE(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    REQUIRE(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
    REQUIRE(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
    uint64_t before = known();
    CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
    CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
    CHECK(known() == before + 2);
    // A file in the root, and one spelled in another case (walked, never noted).
    REQUIRE(fds_content(s.root(), u"\\Top.txt") == "top");
    before = known();
    CHECK(fds_content(s.root(), u"\\Top.txt") == "top");
    CHECK(fds_content(s.root(), u"\\TEMP\\db\\APP.DB") == "db");
    CHECK(fds_content(s.root(), u"\\TEMP\\db\\APP.DB") == "db");
    CHECK(known() == before + 1);

    SECTION("replaced on the host by a FIFO, a device-like file: refused, not known") {
        REQUIRE(::unlink(s.host("Temp/Db/app.db").c_str()) == 0);
        REQUIRE(::mkfifo(s.host("Temp/Db/app.db").c_str(), 0600) == 0);
        before = known();
        for (int i = 0; i < 3; ++i) {  // the event's open, and two with the queue quiet
            auto opened = fds_open(s.root(), u"\\Temp\\Db\\app.db");
            REQUIRE_FALSE(opened.ok());
            CHECK(opened.error() == Win32Error::ERROR_ACCESS_DENIED);
        }
        CHECK(known() == before);
    }
    SECTION("replaced on the host by a directory") {
        REQUIRE(::unlink(s.host("Temp/Db/app.db").c_str()) == 0);
        std::filesystem::create_directories(s.host("Temp/Db/app.db"));
        auto opened = fds_open(s.root(), u"\\Temp\\Db\\app.db");
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error() == Win32Error::ERROR_ACCESS_DENIED);
    }
    SECTION("another file renamed over it on the host") {
        write_host_file(s.host("Temp/Db/new"), "new");
        std::filesystem::rename(s.host("Temp/Db/new"), s.host("Temp/Db/app.db"));
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "new");
    }
    SECTION("removed on the host, or through the store") {
        REQUIRE(::unlink(s.host("Temp/Db/app.db").c_str()) == 0);
        auto opened = fds_open(s.root(), u"\\Temp\\Db\\app.db");
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error() == Win32Error::ERROR_FILE_NOT_FOUND);
        REQUIRE(s.root().delete_file(u"\\Top.txt").ok());
        opened = fds_open(s.root(), u"\\Top.txt");
        REQUIRE_FALSE(opened.ok());
        CHECK(opened.error() == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    SECTION("a change in any watched directory: checked again twice, then known again") {
        write_host_file(s.host("Temp/other"), "x");
        before = known();
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
        CHECK(known() == before);
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
        CHECK(known() == before + 1);
    }
    SECTION("a directory renamed over the file's parent") {
        std::filesystem::create_directories(s.host("Temp/Db2"));
        write_host_file(s.host("Temp/Db2/app.db"), "other");
        std::filesystem::rename(s.host("Temp/Db"), s.host("Temp/Old"));
        std::filesystem::rename(s.host("Temp/Db2"), s.host("Temp/Db"));
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "other");
    }
    SECTION("a directory only ever opened into is not cached by the opens: never known") {
        std::filesystem::create_directories(s.host("Data"));
        write_host_file(s.host("Data/x"), "x");
        const auto opens = s.root().dir_fd_stats().opens;
        before = known();
        for (int i = 0; i < 4; ++i) CHECK(fds_content(s.root(), u"\\Data\\x") == "x");
        CHECK(known() == before);
        CHECK(s.root().dir_fd_stats().opens == opens);
        // Once a lookup has walked it (here a missing name), it is.
        CHECK(fds_attr_error(s.root(), u"\\Data\\missing") == Win32Error::ERROR_FILE_NOT_FOUND);
        for (int i = 0; i < 3; ++i) CHECK(fds_content(s.root(), u"\\Data\\x") == "x");
        CHECK(known() == before + 2);
    }
    SECTION("deeper than the cached directories: never known") {
        std::filesystem::create_directories(s.host("Temp/Db/Deep"));
        write_host_file(s.host("Temp/Db/Deep/f"), "deep");
        REQUIRE(fds_content(s.root(), u"\\Temp\\Db\\Deep\\f") == "deep");
        before = known();
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\Deep\\f") == "deep");
        CHECK(known() == before);
    }
    SECTION("opened for write with CREATE_ALWAYS and OPEN_ALWAYS; CREATE_NEW still fails") {
        OpenRequest req;
        req.read = req.write = true;
        req.disposition = 4;  // OPEN_ALWAYS
        before = known();
        auto again = s.root().open_file(u"\\Temp\\Db\\app.db", req);
        REQUIRE(again.ok());
        CHECK(again->existed);
        CHECK(known() == before + 1);
        req.disposition = 1;  // CREATE_NEW
        auto made = s.root().open_file(u"\\Temp\\Db\\app.db", req);
        REQUIRE_FALSE(made.ok());
        CHECK(made.error() == Win32Error::ERROR_FILE_EXISTS);
        req.disposition = 2;  // CREATE_ALWAYS truncates
        auto replaced = s.root().open_file(u"\\Temp\\Db\\app.db", req);
        REQUIRE(replaced.ok());
        CHECK(read_host_file(s.host("Temp/Db/app.db")).empty());
    }
    SECTION("READONLY is still checked on a known file opened for write") {
        REQUIRE(s.root().set_attributes(u"\\Temp\\Db\\app.db", 0x1).ok());  // READONLY
        CHECK(fds_content(s.root(), u"\\Temp\\Db\\app.db") == "db");
        OpenRequest req;
        req.read = req.write = true;
        req.disposition = 3;  // OPEN_EXISTING
        auto w = s.root().open_file(u"\\Temp\\Db\\app.db", req);
        REQUIRE_FALSE(w.ok());
        CHECK(w.error() == Win32Error::ERROR_ACCESS_DENIED);
    }
}

TEST_CASE("Without the watch every lookup checks its directories, with the same answers",
          "[fsys][unit]") {
    RootOptions no_watch;
    no_watch.watch_directories = false;
    StoreFixture s(no_watch);
    CHECK_FALSE(s.root().watching_directories());
    std::filesystem::create_directories(s.host("Temp/Db"));
    for (int i = 0; i < 3; ++i) {
        CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    write_host_file(s.host("Temp/Db/j"), "j");
    CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\J") == Win32Error::ERROR_SUCCESS);
    std::filesystem::rename(s.host("Temp/Db"), s.host("Temp/Moved"));
    CHECK(fds_attr_error(s.root(), u"\\Temp\\Db\\j") == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(s.root().dir_fd_stats().trusted == 0);
    CHECK(s.root().dir_fd_stats().hits >= 4);
    for (int i = 0; i < 3; ++i) CHECK(fds_content(s.root(), u"\\Temp\\Moved\\j") == "j");
    CHECK(s.root().dir_fd_stats().known_files == 0);
}
