// Nothing outside the root is reachable: dot-dot, absolute and relative symlinks, planted
// directory links. Symlinks inside the store are refused altogether (CE has none).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "fsys/host.h"
#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

struct EscapeFixture : StoreFixture {
    EscapeFixture() {
        secret = dir.path() / "secret.txt";
        write_host_file(secret, "top secret");
        std::filesystem::create_directory_symlink(dir.path(), host("updir"));
        std::filesystem::create_symlink(secret, host("Temp/abs"));
        std::filesystem::create_symlink("../../secret.txt", host("Temp/up"));
        std::filesystem::create_directory_symlink("/etc", host("Temp/etc"));
        std::filesystem::create_directory_symlink("../Windows", host("Temp/inner"));
        write_host_file(host("Windows/in.txt"), "inside");
    }
    bool secret_intact() const {
        return read_host_file(secret) == "top secret" &&
               std::filesystem::directory_iterator(dir.path()) !=
                   std::filesystem::directory_iterator() &&
               !std::filesystem::exists(dir.path() / "new.txt");
    }
    std::filesystem::path secret;
};

cek::Result<OpenedFile> open_escaping(Root& r, std::u16string_view p, uint32_t disposition,
                             bool write = false) {
    OpenRequest req;
    req.read = true;
    req.write = write;
    req.disposition = disposition;
    return r.open_file(p, req);
}

}  // namespace

TEST_CASE("Dot-dot at the root stays inside the store", "[fsys][unit]") {
    EscapeFixture s;
    CHECK(err(open_escaping(s.root(), u"\\..\\secret.txt", 3)) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(open_escaping(s.root(), u"..\\..\\..\\secret.txt", 3)) == Win32Error::ERROR_FILE_NOT_FOUND);
    auto created = open_escaping(s.root(), u"\\..\\new.txt", 1, true);
    REQUIRE(created.ok());
    CHECK(created->ce_path == u"\\new.txt");
    CHECK(std::filesystem::exists(s.host("new.txt")));
    CHECK(s.secret_intact());
}

TEST_CASE("Absolute and relative symlinks to outside files are refused", "[fsys][unit]") {
    EscapeFixture s;
    for (auto p : {u"\\Temp\\abs", u"\\Temp\\up", u"\\Temp\\ABS"}) {
        INFO("path index");
        CHECK(err(open_escaping(s.root(), p, 3)) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(open_escaping(s.root(), p, 2, true)) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().get_attributes(p)) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().set_attributes(p, kAttrReadonly)) == Win32Error::ERROR_ACCESS_DENIED);
        CHECK(err(s.root().delete_file(p)) == Win32Error::ERROR_ACCESS_DENIED);
    }
    CHECK(std::filesystem::is_symlink(s.host("Temp/abs")));
    CHECK(s.secret_intact());
}

TEST_CASE("Directory symlinks cannot be walked through", "[fsys][unit]") {
    EscapeFixture s;
    CHECK(err(open_escaping(s.root(), u"\\updir\\secret.txt", 3)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open_escaping(s.root(), u"\\updir\\new.txt", 1, true)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(open_escaping(s.root(), u"\\Temp\\etc\\passwd", 3)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().create_directory(u"\\updir\\d")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().find_files(u"\\updir\\*")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(s.secret_intact());
}

TEST_CASE("Symlinks that stay inside the store are refused too", "[fsys][unit]") {
    EscapeFixture s;
    CHECK(err(open_escaping(s.root(), u"\\Temp\\inner\\in.txt", 3)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(open_escaping(s.root(), u"\\Windows\\in.txt", 3).ok());
}

TEST_CASE("Move and copy cannot use symlinks as source or target", "[fsys][unit]") {
    EscapeFixture s;
    write_host_file(s.host("Temp/mine.txt"), "mine");
    CHECK(err(s.root().copy_file(u"\\Temp\\abs", u"\\Temp\\copy.txt", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().copy_file(u"\\Temp\\mine.txt", u"\\Temp\\abs", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().copy_file(u"\\Temp\\mine.txt", u"\\updir\\new.txt", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().move_file(u"\\Temp\\mine.txt", u"\\updir\\new.txt")) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().move_file(u"\\Temp\\up", u"\\Temp\\moved")) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(read_host_file(s.host("Temp/mine.txt")) == "mine");
    CHECK(s.secret_intact());
}

TEST_CASE("Listings leave symlinks out", "[fsys][unit]") {
    EscapeFixture s;
    CHECK(err(s.root().find_files(u"\\Temp\\*")) == Win32Error::ERROR_FILE_NOT_FOUND);
    write_host_file(s.host("Temp/real.txt"), "x");
    auto list = s.root().find_files(u"\\Temp\\*");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    CHECK(list->front().name == u"real.txt");
    CHECK(err(s.root().find_files(u"\\Temp\\abs")) == Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("open_beneath resolves dot-dot and absolute paths inside its directory",
          "[fsys][unit]") {
    EscapeFixture s;
    const int root = ::open(s.host().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(root >= 0);
    CHECK(open_beneath(root, "../secret.txt", O_RDONLY) == -ENOENT);
    CHECK(open_beneath(root, s.secret.c_str(), O_RDONLY) == -ENOENT);
    CHECK(open_beneath(root, "Temp/abs", O_RDONLY) == -ELOOP);
    CHECK(open_beneath(root, "updir/secret.txt", O_RDONLY) == -ELOOP);
    const int ok = open_beneath(root, "Windows/in.txt", O_RDONLY);
    CHECK(ok >= 0);
    if (ok >= 0) ::close(ok);
    ::close(root);
}
