// The folded-name cache under the store's own changes (issue 16, finding 6): creating, deleting
// and renaming through the store update a cached listing in place, so filling a directory reads
// it once instead of once per new entry; and searches page through that listing without a copy.
#include <catch2/catch.hpp>

#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

std::u16string wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

cek::Result<OpenedFile> create_new(Root& r, const std::u16string& path) {
    OpenRequest req;
    req.write = true;
    req.disposition = static_cast<uint32_t>(Disposition::create_new);
    return r.open_file(path, req);
}

}  // namespace

TEST_CASE("Filling a directory through the store reads it once, not once per entry",
          "[fsys][unit][fairness]") {
    StoreFixture s;
    REQUIRE(s.root().create_directory(u"\\Temp\\fill").ok());
    settle();
    const auto builds = s.root().cache_stats().builds;
    constexpr int kFiles = 400;
    for (int i = 0; i < kFiles; ++i) {
        // CREATE_NEW looks the new name up in every case first: the cache answers.
        REQUIRE(create_new(s.root(), u"\\Temp\\fill\\File" + wide(std::to_string(i))).ok());
    }
    // Re-read at most once (the first lookup); the old cache read it after every create.
    CHECK(s.root().cache_stats().builds - builds <= 2);
    CHECK(s.root().cache_stats().updates >= kFiles);
    // The updated listing answers mis-cased lookups, deletes, renames and directories.
    CHECK(err(create_new(s.root(), u"\\Temp\\fill\\FILE7")) == Win32Error::ERROR_FILE_EXISTS);
    REQUIRE(s.root().delete_file(u"\\Temp\\fill\\file7").ok());
    CHECK(create_new(s.root(), u"\\Temp\\fill\\FILE7").ok());
    REQUIRE(s.root().move_file(u"\\Temp\\fill\\file8", u"\\Temp\\fill\\Renamed").ok());
    CHECK(err(s.root().get_attributes(u"\\Temp\\fill\\file8")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(s.root().get_attributes(u"\\Temp\\fill\\RENAMED").ok());
    REQUIRE(s.root().create_directory(u"\\Temp\\fill\\Sub").ok());
    CHECK(err(s.root().create_directory(u"\\Temp\\fill\\SUB")) == Win32Error::ERROR_ALREADY_EXISTS);
    REQUIRE(s.root().copy_file(u"\\Temp\\fill\\file9", u"\\Temp\\fill\\Copy", true).ok());
    CHECK(s.root().get_attributes(u"\\Temp\\fill\\COPY").ok());
    CHECK(s.root().cache_stats().builds - builds <= 2);
    // And a search lists exactly what is there.
    auto all = s.root().find_files(u"\\Temp\\fill\\*");
    REQUIRE(all.ok());
    CHECK(all->size() == kFiles + 2);  // file8 renamed, plus Sub and Copy
}

TEST_CASE("A change made behind the store's back is still seen after the store's own changes",
          "[fsys][unit][fairness]") {
    StoreFixture s;
    REQUIRE(s.root().create_directory(u"\\Temp\\mixed").ok());
    settle();
    REQUIRE(create_new(s.root(), u"\\Temp\\mixed\\one").ok());
    settle();
    REQUIRE(create_new(s.root(), u"\\Temp\\mixed\\two").ok());
    settle();
    write_host_file(s.host("Temp/mixed/Host"), "x");  // moves the directory's times
    CHECK(s.root().get_attributes(u"\\Temp\\mixed\\HOST").ok());
    REQUIRE(create_new(s.root(), u"\\Temp\\mixed\\three").ok());
    auto all = s.root().find_files(u"\\Temp\\mixed\\*");
    REQUIRE(all.ok());
    CHECK(all->size() == 4);
}

TEST_CASE("A search pages through the listing: a cursor resumes after the last name and ends",
          "[fsys][unit][fairness]") {
    StoreFixture s;
    for (int i = 0; i < 30; ++i) write_host_file(s.host("Temp/p" + std::to_string(100 + i)), "");
    write_host_file(s.host("Temp/other"), "");
    auto c = s.root().find_start(u"\\Temp\\P1*");
    REQUIRE(c.ok());
    std::vector<FindEntry> got;
    size_t calls = 0;
    for (;;) {
        auto n = s.root().find_more(*c, got, 7);
        REQUIRE(n.ok());
        if (n.value() == 0) break;
        CHECK(n.value() <= 7);
        ++calls;
    }
    CHECK(calls == 5);
    REQUIRE(got.size() == 30);
    for (int i = 0; i < 30; ++i) CHECK(got[i].name == wide("p" + std::to_string(100 + i)));
    CHECK(c->memory_bytes() < 1024);
    // Over is over; a missing folder is an error only before anything was listed.
    CHECK(s.root().find_more(*c, got, 7).value() == 0);
    CHECK(err(s.root().find_start(u"\\Temp\\none\\*")) == Win32Error::ERROR_PATH_NOT_FOUND);
    std::filesystem::create_directory(s.host("Temp/gone"));
    write_host_file(s.host("Temp/gone/a"), "");
    write_host_file(s.host("Temp/gone/b"), "");
    auto g = s.root().find_start(u"\\Temp\\gone\\*");
    REQUIRE(g.ok());
    std::vector<FindEntry> first;
    REQUIRE(s.root().find_more(*g, first, 1).value() == 1);
    std::filesystem::remove_all(s.host("Temp/gone"));
    CHECK(s.root().find_more(*g, first, 1).value() == 0);
}
