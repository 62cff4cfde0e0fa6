// Case-insensitive, case-preserving lookup; the folded-name cache; a fresh root's folders.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsys/dir_cache.h"
#include "fsys/fold.h"
#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

cek::Result<OpenedFile> open_existing(Root& r, std::u16string_view p) {
    OpenRequest req;
    req.read = true;
    req.disposition = 3;
    req.allow_directory = true;
    return r.open_file(p, req);
}

std::u16string found_path(Root& r, std::u16string_view p) {
    auto f = open_existing(r, p);
    return f ? f->ce_path : u"<" + std::u16string(u"error") + u">";
}

}  // namespace

TEST_CASE("A fresh root is created with parents, mode 0700, and CE's folders", "[fsys][unit]") {
    TempDir t;
    const auto dir = t.path() / "a" / "b" / "store";
    auto root = Root::open(dir);
    REQUIRE(root.ok());
    struct stat st{};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    for (auto name : {"Windows", "My Documents", "Program Files", "Temp"}) {
        INFO(name);
        CHECK(std::filesystem::is_directory(dir / name));
    }
}

TEST_CASE("Default folders are not recreated when they exist in another case", "[fsys][unit]") {
    TempDir t;
    const auto dir = t.path() / "store";
    std::filesystem::create_directories(dir / "windows");
    std::filesystem::create_directories(dir / "TEMP");
    auto root = Root::open(dir);
    REQUIRE(root.ok());
    CHECK_FALSE(std::filesystem::exists(dir / "Windows"));
    CHECK_FALSE(std::filesystem::exists(dir / "Temp"));
    CHECK(std::filesystem::is_directory(dir / "My Documents"));
    size_t count = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++count;
    CHECK(count == 4);
    CHECK(found_path(**root, u"\\Temp") == u"\\TEMP");
}

TEST_CASE("Names resolve in any case and report the case on disk", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("My Documents/Sub Dir"));
    write_host_file(s.host("My Documents/Sub Dir/ReadMe.TXT"), "x");
    CHECK(found_path(s.root(), u"\\my documents\\SUB DIR\\readme.txt") ==
          u"\\My Documents\\Sub Dir\\ReadMe.TXT");
    write_host_file(s.host("Temp/\xc3\x89t\xc3\xa9.txt"), "x");  // "Été.txt"
    CHECK(found_path(s.root(), u"\\temp\\\u00e9T\u00c9.TXT") == u"\\Temp\\\u00c9t\u00e9.txt");
}

TEST_CASE("A warm cache answers mis-cased lookups without reading the directory again",
          "[fsys][unit]") {
    StoreFixture s;
    for (int i = 0; i < 50; ++i) write_host_file(s.host("Temp/File" + std::to_string(i)), "x");
    settle();
    REQUIRE(open_existing(s.root(), u"\\Temp\\FILE7").ok());
    const auto builds = s.root().cache_stats().builds;
    for (int i = 0; i < 50; ++i) {
        const std::string n = "FILE" + std::to_string(i);
        REQUIRE(open_existing(s.root(), u"\\Temp\\" + std::u16string(n.begin(), n.end())).ok());
    }
    CHECK(err(open_existing(s.root(), u"\\Temp\\FILE99")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.root().cache_stats().builds == builds);
}

TEST_CASE("The cache notices host renames and creations behind its back", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/Alpha"), "x");
    settle();
    REQUIRE(found_path(s.root(), u"\\Temp\\ALPHA") == u"\\Temp\\Alpha");
    const auto builds = s.root().cache_stats().builds;
    REQUIRE(found_path(s.root(), u"\\Temp\\alpha") == u"\\Temp\\Alpha");
    REQUIRE(s.root().cache_stats().builds == builds);  // warm, and not racy

    std::filesystem::rename(s.host("Temp/Alpha"), s.host("Temp/Beta"));
    CHECK(err(open_existing(s.root(), u"\\Temp\\ALPHA")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(found_path(s.root(), u"\\Temp\\BETA") == u"\\Temp\\Beta");
    CHECK(s.root().cache_stats().builds > builds);

    settle();
    write_host_file(s.host("Temp/Gamma"), "x");
    CHECK(found_path(s.root(), u"\\Temp\\gamma") == u"\\Temp\\Gamma");
}

TEST_CASE("A host change in the same timestamp tick as the last read is still seen",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/One"), "x");
    REQUIRE(found_path(s.root(), u"\\Temp\\ONE") == u"\\Temp\\One");  // built while racy
    write_host_file(s.host("Temp/Two"), "x");                          // possibly same tick
    CHECK(found_path(s.root(), u"\\Temp\\TWO") == u"\\Temp\\Two");
}

TEST_CASE("A directory dated past the year 2262 is still cached and looked up", "[fsys][unit]") {
    // Found by the sequence fuzzer: SetFileTime on a directory can move its write time to any
    // FILETIME; the cache's nanosecond arithmetic overflowed (UBSan aborts on it).
    StoreFixture s;
    write_host_file(s.host("Temp/Far"), "x");
    const timespec far[2] = {{0, UTIME_OMIT}, {661'119'133'794, 0}};
    REQUIRE(::utimensat(AT_FDCWD, s.host("Temp").c_str(), far, 0) == 0);
    struct stat st{};
    REQUIRE(::stat(s.host("Temp").c_str(), &st) == 0);
    CAPTURE(st.st_mtim.tv_sec);  // the host file system may clamp it (ext4: year 2446)
    CHECK(found_path(s.root(), u"\\Temp\\FAR") == u"\\Temp\\Far");
    CHECK(found_path(s.root(), u"\\Temp\\far") == u"\\Temp\\Far");
    // A time in the future counts as "just changed": the listing is read again on each use, so
    // a host change behind the store's back is still seen.
    write_host_file(s.host("Temp/Near"), "x");
    REQUIRE(::utimensat(AT_FDCWD, s.host("Temp").c_str(), far, 0) == 0);
    CHECK(found_path(s.root(), u"\\Temp\\NEAR") == u"\\Temp\\Near");
}

TEST_CASE("Changes made through the store are visible at once", "[fsys][unit]") {
    StoreFixture s;
    settle();
    REQUIRE(err(open_existing(s.root(), u"\\Temp\\NEWFILE")) == Win32Error::ERROR_FILE_NOT_FOUND);
    OpenRequest req;
    req.write = true;
    req.disposition = 1;
    REQUIRE(s.root().open_file(u"\\Temp\\NewFile", req).ok());
    CHECK(found_path(s.root(), u"\\temp\\newfile") == u"\\Temp\\NewFile");
    REQUIRE(s.root().move_file(u"\\Temp\\newfile", u"\\Temp\\Renamed").ok());
    CHECK(err(open_existing(s.root(), u"\\TEMP\\NEWFILE")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(found_path(s.root(), u"\\TEMP\\RENAMED") == u"\\Temp\\Renamed");
}

TEST_CASE("Names that fold alike resolve to the bytewise smallest, exact case first",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/Dup"), "mixed");
    write_host_file(s.host("Temp/DUP"), "upper");
    write_host_file(s.host("Temp/dup"), "lower");
    CHECK(found_path(s.root(), u"\\Temp\\dUP") == u"\\Temp\\DUP");
    CHECK(found_path(s.root(), u"\\Temp\\Dup") == u"\\Temp\\Dup");
    CHECK(found_path(s.root(), u"\\Temp\\dup") == u"\\Temp\\dup");
}

TEST_CASE("The dir cache hides reserved and unaddressable names and stays bounded",
          "[fsys][unit]") {
    TempDir t;
    for (auto d : {"a", "b", "c"}) {
        std::filesystem::create_directory(t.path() / d);
        write_host_file(t.path() / d / "Name", "x");
    }
    write_host_file(t.path() / "a" / ".cek~attrs", "x");
    write_host_file(t.path() / "a" / "bad:name", "x");
    write_host_file(t.path() / "a" / "dot.", "x");
    DirCache cache(DirCache::Limits{2, 1000});
    for (auto d : {"a", "b", "c"}) {
        const int fd = ::open((t.path() / d).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        HostStat st;
        REQUIRE(stat_fd(fd, st) == 0);
        auto hit = cache.find(fd, st, fold(u"name"));
        REQUIRE(hit.ok());
        CHECK(*hit == std::optional<std::string>("Name"));
        CHECK(cache.find(fd, st, fold(u".cek~attrs")).value() == std::nullopt);
        CHECK(cache.find(fd, st, fold(u"bad:name")).value() == std::nullopt);
        CHECK(cache.find(fd, st, fold(u"dot.")).value() == std::nullopt);
        CHECK(cache.find(fd, st, fold(u"dot")).value() == std::nullopt);
        ::close(fd);
    }
    CHECK(cache.cached_dirs() == 2);
}
