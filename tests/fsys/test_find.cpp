// FindFirstFile/FindNextFile listings.
#include <catch2/catch.hpp>

#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

std::vector<std::u16string> names(const std::vector<FindEntry>& v) {
    std::vector<std::u16string> out;
    for (const auto& e : v) out.push_back(e.name);
    return out;
}
using V = std::vector<std::u16string>;

struct FindFixture : StoreFixture {
    FindFixture() {
        write_host_file(host("Temp/b.TXT"), "bb");
        write_host_file(host("Temp/A.txt"), "a");
        write_host_file(host("Temp/readme"), "readme!");
        write_host_file(host("Temp/c.doc"), "");
        std::filesystem::create_directory(host("Temp/Sub"));
        write_host_file(host("Temp/.cek~tmp.1.1"), "hidden from CE");
        write_host_file(host("Temp/bad:name"), "unaddressable");
        std::filesystem::create_symlink("A.txt", host("Temp/link"));
    }
};

}  // namespace

TEST_CASE("Star-dot-star lists every visible entry in folded-name order", "[fsys][unit]") {
    FindFixture s;
    auto r = s.root().find_files(u"\\Temp\\*.*");
    REQUIRE(r.ok());
    CHECK(names(*r) == V{u"A.txt", u"b.TXT", u"c.doc", u"readme", u"Sub"});
    auto star = s.root().find_files(u"\\temp\\*");
    REQUIRE(star.ok());
    CHECK(names(*star) == names(*r));
}

TEST_CASE("Entries carry attributes, sizes and times", "[fsys][unit]") {
    FindFixture s;
    REQUIRE(s.root().set_attributes(u"\\Temp\\readme", kAttrHidden).ok());
    auto r = s.root().find_files(u"\\Temp\\*");
    REQUIRE(r.ok());
    for (const auto& e : *r) {
        if (e.name == u"readme") {
            CHECK(e.attributes == kAttrHidden);
            CHECK(e.size == 7);
        } else if (e.name == u"Sub") {
            CHECK(e.attributes == kAttrDirectory);
            CHECK(e.size == 0);
        } else if (e.name == u"b.TXT") {
            CHECK(e.attributes == kAttrArchive);
            CHECK(e.size == 2);
        }
        CHECK(e.times.last_write > 0);
        CHECK(e.times.creation > 0);
    }
}

TEST_CASE("Patterns match case-insensitively with star and question mark", "[fsys][unit]") {
    FindFixture s;
    CHECK(names(s.root().find_files(u"\\Temp\\*.txt").value()) == V{u"A.txt", u"b.TXT"});
    CHECK(names(s.root().find_files(u"\\Temp\\?.TxT").value()) == V{u"A.txt", u"b.TXT"});
    CHECK(names(s.root().find_files(u"\\Temp\\READ*").value()) == V{u"readme"});
    CHECK(names(s.root().find_files(u"\\Temp\\readme.*").value()) == V{u"readme"});
    CHECK(names(s.root().find_files(u"\\Temp\\s?b").value()) == V{u"Sub"});
}

TEST_CASE("A name without wildcards finds that one entry in its real case", "[fsys][unit]") {
    FindFixture s;
    CHECK(names(s.root().find_files(u"\\temp\\a.TXT").value()) == V{u"A.txt"});
    CHECK(names(s.root().find_files(u"\\TEMP").value()) == V{u"Temp"});
}

TEST_CASE("No match is ERROR_FILE_NOT_FOUND and a missing directory ERROR_PATH_NOT_FOUND",
          "[fsys][unit]") {
    FindFixture s;
    CHECK(err(s.root().find_files(u"\\Temp\\*.exe")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\Temp\\none")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\Temp\\Sub\\*")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\none\\*")) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\Temp\\readme\\*")) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().find_files(u"\\Te*p\\x")) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(s.root().find_files(u"")) == Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("The root lists CE's folders", "[fsys][unit]") {
    FindFixture s;
    CHECK(names(s.root().find_files(u"\\*.*").value()) ==
          V{u"My Documents", u"Program Files", u"Temp", u"Windows"});
}
