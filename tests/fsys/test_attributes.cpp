// FILE_ATTRIBUTE_* storage: Wine's user.DOSATTRIB format, READONLY mirroring and enforcement,
// persistence, the sidecar fallback, file times.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/xattr.h>

#include "fsys/filetime.h"
#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

cek::Result<OpenedFile> open_with_attributes(Root& r, std::u16string_view p, uint32_t disposition,
                             bool write = false, uint32_t attrs = 0) {
    OpenRequest req;
    req.read = true;
    req.write = write;
    req.disposition = disposition;
    req.attributes = attrs;
    return r.open_file(p, req);
}

bool owner_writable(const std::filesystem::path& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IWUSR) != 0;
}

}  // namespace

TEST_CASE("DOSATTRIB values use Wine's 0x hex form", "[fsys][unit]") {
    CHECK(format_dosattrib(0x21) == "0x21");
    CHECK(format_dosattrib(0) == "0x0");
    CHECK(parse_dosattrib("0x21") == 0x21u);
    CHECK(parse_dosattrib("0X2A") == 0x2Au);
    CHECK(parse_dosattrib(std::string("0x20\0\x03\x00junk", 10)) == 0x20u);
    CHECK_FALSE(parse_dosattrib(""));
    CHECK_FALSE(parse_dosattrib("22"));
    CHECK_FALSE(parse_dosattrib("0x"));
    CHECK_FALSE(parse_dosattrib("0xZZ"));
    CHECK_FALSE(parse_dosattrib("0x123456789"));
}

TEST_CASE("Files default to ARCHIVE and directories to DIRECTORY", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/plain"), "x");
    CHECK(*s.root().get_attributes(u"\\Temp\\plain") == kAttrArchive);
    CHECK(*s.root().get_attributes(u"\\Temp") == kAttrDirectory);
    CHECK(*s.root().get_attributes(u"\\") == kAttrDirectory);
    CHECK(err(s.root().get_attributes(u"\\Temp\\none")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().get_attributes(u"\\none\\x")) == Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("Attributes are stored in user.DOSATTRIB and NORMAL is reported alone",
          "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(s.root().attribute_backend() == AttributeBackend::xattr);
    write_host_file(s.host("Temp/f"), "x");
    REQUIRE(s.root().set_attributes(u"\\Temp\\F", kAttrHidden | kAttrSystem).ok());
    CHECK(host_dosattrib(s.host("Temp/f")) == "0x6");
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == (kAttrHidden | kAttrSystem));
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrNormal).ok());
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrNormal);
    CHECK(host_dosattrib(s.host("Temp/f")) == "0x0");
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrArchive).ok());
    CHECK(host_dosattrib(s.host("Temp/f")) == "<none>");  // the default needs no xattr
}

TEST_CASE("DIRECTORY, INROM and unknown bits given to set are ignored", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/f"), "x");
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrDirectory | kAttrInRom | kAttrHidden |
                                                      0x10000).ok());
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrHidden);
    REQUIRE(s.root().set_attributes(u"\\Temp", kAttrHidden).ok());
    CHECK(*s.root().get_attributes(u"\\Temp") == (kAttrHidden | kAttrDirectory));
    CHECK(err(s.root().set_attributes(u"\\", kAttrHidden)) == Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("Values written by Wine or Samba are read", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/wine"), "x");
    write_host_file(s.host("Temp/samba"), "x");
    REQUIRE(::setxattr(s.host("Temp/wine").c_str(), "user.DOSATTRIB", "0x2", 3, 0) == 0);
    const std::string samba("0x20\0\x03\x00\x00\x00", 8);
    REQUIRE(::setxattr(s.host("Temp/samba").c_str(), "user.DOSATTRIB", samba.data(), samba.size(),
                       0) == 0);
    CHECK(*s.root().get_attributes(u"\\Temp\\wine") == kAttrHidden);
    CHECK(*s.root().get_attributes(u"\\Temp\\samba") == kAttrArchive);
}

TEST_CASE("Attributes persist across a fresh Root on the same directory", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(open_with_attributes(s.root(), u"\\Temp\\keep", 1, true, kAttrHidden | kAttrTemporary).ok());
    s.reopen();
    CHECK(*s.root().get_attributes(u"\\Temp\\keep") ==
          (kAttrHidden | kAttrTemporary | kAttrArchive));
}

TEST_CASE("READONLY is mirrored into the write mode bits and back", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/f"), "x");
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrReadonly | kAttrArchive).ok());
    CHECK(host_dosattrib(s.host("Temp/f")) == "0x21");
    struct stat st{};
    REQUIRE(::stat(s.host("Temp/f").c_str(), &st) == 0);
    CHECK((st.st_mode & 0222) == 0);
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrArchive).ok());
    CHECK(owner_writable(s.host("Temp/f")));
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrArchive);
}

TEST_CASE("A file the host made unwritable is READONLY", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/f"), "x");
    REQUIRE(::chmod(s.host("Temp/f").c_str(), 0444) == 0);
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == (kAttrReadonly | kAttrArchive));
    CHECK(err(s.root().delete_file(u"\\Temp\\f")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open_with_attributes(s.root(), u"\\Temp\\f", 3, true)) == Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("A READONLY file cannot be deleted or written but can be moved", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(open_with_attributes(s.root(), u"\\Temp\\ro", 1, true, kAttrReadonly).ok());
    CHECK(err(s.root().delete_file(u"\\Temp\\ro")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(std::filesystem::exists(s.host("Temp/ro")));
    REQUIRE(s.root().move_file(u"\\Temp\\ro", u"\\My Documents\\ro2").ok());
    CHECK(*s.root().get_attributes(u"\\My Documents\\ro2") == (kAttrReadonly | kAttrArchive));
    CHECK(err(open_with_attributes(s.root(), u"\\My Documents\\ro2", 3, true)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    REQUIRE(s.root().set_attributes(u"\\My Documents\\ro2", kAttrNormal).ok());
    CHECK(s.root().delete_file(u"\\My Documents\\ro2").ok());
}

TEST_CASE("Attributes can be read and set through a descriptor", "[fsys][unit]") {
    StoreFixture s;
    auto f = open_with_attributes(s.root(), u"\\Temp\\f", 1, true);
    REQUIRE(f.ok());
    REQUIRE(s.root().set_attributes(f->fd.get(), kAttrSystem).ok());
    CHECK(*s.root().get_attributes(f->fd.get()) == kAttrSystem);
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrSystem);
    REQUIRE(::write(f->fd.get(), "hello", 5) == 5);
    auto info = s.root().query(f->fd.get());
    REQUIRE(info.ok());
    CHECK(info->size == 5);
    CHECK(info->links == 1);
    CHECK(info->attributes == kAttrSystem);
    CHECK(info->id == f->id);
}

TEST_CASE("The sidecar store keeps attributes where xattrs are not used", "[fsys][unit]") {
    RootOptions opts;
    opts.force_sidecar = true;
    StoreFixture s(opts);
    REQUIRE(s.root().attribute_backend() == AttributeBackend::sidecar);
    write_host_file(s.host("Temp/f"), "x");
    REQUIRE(s.root().set_attributes(u"\\Temp\\f", kAttrHidden).ok());
    CHECK(host_dosattrib(s.host("Temp/f")) == "<none>");
    CHECK(std::filesystem::exists(s.host(".cek~attrs")));
    CHECK_FALSE(std::filesystem::exists(s.host(".cek~attrs.tmp")));
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrHidden);

    s.reopen(opts);
    CHECK(*s.root().get_attributes(u"\\Temp\\f") == kAttrHidden);
    REQUIRE(s.root().move_file(u"\\Temp\\f", u"\\Windows\\g").ok());  // follows the inode
    CHECK(*s.root().get_attributes(u"\\Windows\\g") == kAttrHidden);

    auto listing = s.root().find_files(u"\\*");
    REQUIRE(listing.ok());
    for (const auto& e : *listing) CHECK(e.name.find(u"cek") == std::u16string::npos);
    CHECK(err(s.root().get_attributes(u"\\.cek~attrs")) == Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("The sidecar store enforces READONLY and forgets deleted files", "[fsys][unit]") {
    RootOptions opts;
    opts.force_sidecar = true;
    StoreFixture s(opts);
    REQUIRE(open_with_attributes(s.root(), u"\\Temp\\ro", 1, true, kAttrReadonly | kAttrHidden).ok());
    CHECK(err(open_with_attributes(s.root(), u"\\Temp\\ro", 3, true)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().delete_file(u"\\Temp\\ro")) == Win32Error::ERROR_ACCESS_DENIED);
    struct stat st{};
    REQUIRE(::stat(s.host("Temp/ro").c_str(), &st) == 0);
    const std::string ino = std::to_string(st.st_ino) + " ";
    CHECK(read_host_file(s.host(".cek~attrs")).find(ino) != std::string::npos);
    REQUIRE(s.root().set_attributes(u"\\Temp\\ro", kAttrHidden).ok());
    REQUIRE(s.root().delete_file(u"\\Temp\\ro").ok());
    CHECK(read_host_file(s.host(".cek~attrs")).find(ino) == std::string::npos);

    REQUIRE(s.root().create_directory(u"\\Temp\\d").ok());
    REQUIRE(s.root().set_attributes(u"\\Temp\\d", kAttrHidden).ok());
    REQUIRE(::stat(s.host("Temp/d").c_str(), &st) == 0);
    const std::string dir_ino = std::to_string(st.st_ino) + " ";
    CHECK(read_host_file(s.host(".cek~attrs")).find(dir_ino) != std::string::npos);
    REQUIRE(s.root().remove_directory(u"\\Temp\\d").ok());
    CHECK(read_host_file(s.host(".cek~attrs")).find(dir_ino) == std::string::npos);
}

TEST_CASE("File times convert to FILETIME and can be set", "[fsys][unit]") {
    StoreFixture s;
    auto f = open_with_attributes(s.root(), u"\\Temp\\t", 1, true);
    REQUIRE(f.ok());
    auto before = s.root().get_times(f->fd.get());
    REQUIRE(before.ok());
    CHECK(before->creation > kFiletimeUnixEpoch);
    const uint64_t when = 125911584000000000ULL + 12345670;  // 2000-01-01 + 1.234567 s
    REQUIRE(s.root().set_times(f->fd.get(), std::nullopt, std::nullopt, when).ok());
    auto after = s.root().get_times(f->fd.get());
    REQUIRE(after.ok());
    CHECK(after->last_write == when);
    CHECK(after->last_access == before->last_access);
    REQUIRE(s.root().set_times(f->fd.get(), 1, when + 10, std::nullopt).ok());
    after = s.root().get_times(f->fd.get());
    CHECK(after->last_access == when + 10);
    CHECK(after->last_write == when);
    CHECK(after->creation == before->creation);  // the host cannot set a birth time
}
