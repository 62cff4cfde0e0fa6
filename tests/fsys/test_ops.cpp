// DeleteFile, MoveFile, CopyFile, CreateDirectory and RemoveDirectory semantics.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

std::vector<std::string> host_names(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("DeleteFile removes a file named in any case", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/Gone.txt"), "x");
    REQUIRE(s.root().delete_file(u"\\TEMP\\gone.TXT").ok());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/Gone.txt")));
    CHECK(err(s.root().delete_file(u"\\Temp\\Gone.txt")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().delete_file(u"\\none\\x")) == Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("DeleteFile refuses directories and the root", "[fsys][unit]") {
    StoreFixture s;
    CHECK(err(s.root().delete_file(u"\\Temp")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().delete_file(u"\\")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(std::filesystem::is_directory(s.host("Temp")));
}

TEST_CASE("MoveFile renames across directories", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a.txt"), "payload");
    REQUIRE(s.root().move_file(u"\\temp\\A.TXT", u"\\my documents\\B.txt").ok());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/a.txt")));
    CHECK(read_host_file(s.host("My Documents/B.txt")) == "payload");
}

TEST_CASE("MoveFile never replaces an existing target", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a"), "a");
    write_host_file(s.host("Temp/Target"), "t");
    CHECK(err(s.root().move_file(u"\\Temp\\a", u"\\Temp\\Target")) ==
          Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(err(s.root().move_file(u"\\Temp\\a", u"\\Temp\\TARGET")) ==
          Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(err(s.root().move_file(u"\\Temp\\a", u"\\Windows")) == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(read_host_file(s.host("Temp/Target")) == "t");
    CHECK(read_host_file(s.host("Temp/a")) == "a");
}

TEST_CASE("MoveFile can change only the case of a name", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/readme.txt"), "x");
    REQUIRE(s.root().move_file(u"\\Temp\\readme.txt", u"\\Temp\\README.TXT").ok());
    CHECK(host_names(s.host("Temp")) == std::vector<std::string>{"README.TXT"});
    REQUIRE(s.root().move_file(u"\\Temp\\readme.txt", u"\\Temp\\README.TXT").ok());  // no-op
    CHECK(host_names(s.host("Temp")) == std::vector<std::string>{"README.TXT"});
}

TEST_CASE("MoveFile reports missing sources and target directories", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/a"), "a");
    CHECK(err(s.root().move_file(u"\\Temp\\none", u"\\Temp\\b")) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().move_file(u"\\nodir\\a", u"\\Temp\\b")) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().move_file(u"\\Temp\\a", u"\\nodir\\b")) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().move_file(u"\\", u"\\x")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().move_file(u"\\Temp\\a", u"\\Temp\\.cek~x")) ==
          Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("MoveFile moves directories but not into themselves", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/d/inner"));
    write_host_file(s.host("Temp/d/inner/f"), "x");
    CHECK(err(s.root().move_file(u"\\Temp\\d", u"\\Temp\\d\\inner\\d2")) ==
          Win32Error::ERROR_ACCESS_DENIED);
    REQUIRE(s.root().move_file(u"\\Temp\\D", u"\\My Documents\\Moved").ok());
    CHECK(read_host_file(s.host("My Documents/Moved/inner/f")) == "x");
}

TEST_CASE("CopyFile copies data, attributes and the write time", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/src"), std::string(100000, 'z'));
    REQUIRE(s.root().set_attributes(u"\\Temp\\src", kAttrHidden).ok());
    const auto src_mtime = std::filesystem::last_write_time(s.host("Temp/src"));
    REQUIRE(s.root().copy_file(u"\\Temp\\SRC", u"\\Windows\\Dst", true).ok());
    CHECK(read_host_file(s.host("Windows/Dst")) == std::string(100000, 'z'));
    CHECK(*s.root().get_attributes(u"\\Windows\\Dst") == (kAttrHidden | kAttrArchive));
    CHECK(std::filesystem::last_write_time(s.host("Windows/Dst")) == src_mtime);
    CHECK(host_names(s.host("Windows")) == std::vector<std::string>{"Dst"});
}

TEST_CASE("CopyFile copies a sparse file exactly and keeps it sparse", "[fsys][unit]") {
    StoreFixture s;
    constexpr off_t kSize = 4 << 20;
    const std::pair<off_t, std::string> pieces[] = {
        {0, "head"}, {(1 << 20) + 3, "middle, unaligned"}, {kSize - 3, "end"}};
    {
        std::ofstream f(s.host("Temp/sparse"), std::ios::binary);
        for (const auto& [offset, text] : pieces) f.seekp(offset).write(text.data(), text.size());
    }
    write_host_file(s.host("Temp/hole"), "");
    std::filesystem::resize_file(s.host("Temp/hole"), 2 << 20);  // all hole, no data at all
    write_host_file(s.host("Temp/empty"), "");

    for (const char* name : {"sparse", "hole", "empty"}) {
        INFO(name);
        const std::u16string from = u"\\Temp\\" + std::u16string(name, name + std::strlen(name));
        REQUIRE(s.root().copy_file(from, from + u".copy", true).ok());
        const auto src = s.host(std::string("Temp/") + name);
        const auto dst = s.host(std::string("Temp/") + name + ".copy");
        CHECK(std::filesystem::file_size(dst) == std::filesystem::file_size(src));
        CHECK(read_host_file(dst) == read_host_file(src));
        struct stat src_st {}, dst_st {};
        REQUIRE(::stat(src.c_str(), &src_st) == 0);
        REQUIRE(::stat(dst.c_str(), &dst_st) == 0);
        // Where the host keeps the source sparse, the copy stays sparse too.
        if (src_st.st_blocks * 512 < src_st.st_size / 2)
            CHECK(dst_st.st_blocks * 512 < dst_st.st_size / 2);
    }
    CHECK(read_host_file(s.host("Temp/sparse.copy")).substr((1 << 20) + 3, 17) ==
          "middle, unaligned");
}

TEST_CASE("CopyFile sees data written through a shared mapping and not yet written back",
          "[fsys][unit]") {
    // The kernel copies files that clients have mapped: their stores are dirty pages in the page
    // cache, possibly in blocks the file system has not allocated yet, which SEEK_DATA must count.
    StoreFixture s;
    write_host_file(s.host("Temp/mapped"), "");
    std::filesystem::resize_file(s.host("Temp/mapped"), 4 << 20);
    const int fd = ::open(s.host("Temp/mapped").c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    void* base = ::mmap(nullptr, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(base != MAP_FAILED);
    std::memcpy(static_cast<char*>(base) + (2 << 20) + 5, "through the view", 16);
    REQUIRE(s.root().copy_file(u"\\Temp\\mapped", u"\\Temp\\copy", true).ok());
    ::munmap(base, 4 << 20);
    ::close(fd);
    const std::string copy = read_host_file(s.host("Temp/copy"));
    CHECK(copy.size() == size_t{4} << 20);
    CHECK(copy.substr((2 << 20) + 5, 16) == "through the view");
    CHECK(copy == read_host_file(s.host("Temp/mapped")));
}

TEST_CASE("CopyFile with fail-if-exists refuses an existing target", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/src"), "new");
    write_host_file(s.host("Temp/dst"), "old");
    CHECK(err(s.root().copy_file(u"\\Temp\\src", u"\\Temp\\DST", true)) ==
          Win32Error::ERROR_FILE_EXISTS);
    CHECK(read_host_file(s.host("Temp/dst")) == "old");
    CHECK(host_names(s.host("Temp")) == std::vector<std::string>{"dst", "src"});
}

TEST_CASE("CopyFile without fail-if-exists replaces the target under its own name",
          "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/src"), "new");
    write_host_file(s.host("Temp/dst"), "old");
    REQUIRE(s.root().copy_file(u"\\Temp\\src", u"\\Temp\\DST", false).ok());
    CHECK(read_host_file(s.host("Temp/dst")) == "new");
    CHECK(host_names(s.host("Temp")) == std::vector<std::string>{"dst", "src"});
}

TEST_CASE("CopyFile refuses directories, READONLY targets and itself", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/src"), "new");
    write_host_file(s.host("Temp/ro"), "old");
    REQUIRE(s.root().set_attributes(u"\\Temp\\ro", kAttrReadonly).ok());
    CHECK(err(s.root().copy_file(u"\\Temp\\src", u"\\Temp\\ro", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(read_host_file(s.host("Temp/ro")) == "old");
    CHECK(err(s.root().copy_file(u"\\Temp", u"\\Windows\\x", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().copy_file(u"\\Temp\\src", u"\\Windows", false)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().copy_file(u"\\Temp\\none", u"\\Temp\\x", false)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().copy_file(u"\\Temp\\src", u"\\nodir\\x", false)) ==
          Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().copy_file(u"\\Temp\\src", u"\\Temp\\SRC", false)) ==
          Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(host_names(s.host("Temp")) == std::vector<std::string>{"ro", "src"});
}

TEST_CASE("A copy of a READONLY file is READONLY", "[fsys][unit]") {
    StoreFixture s;
    write_host_file(s.host("Temp/src"), "data");
    REQUIRE(s.root().set_attributes(u"\\Temp\\src", kAttrReadonly).ok());
    REQUIRE(s.root().copy_file(u"\\Temp\\src", u"\\Temp\\copy", true).ok());
    CHECK(*s.root().get_attributes(u"\\Temp\\copy") == (kAttrReadonly | kAttrArchive));
    CHECK(read_host_file(s.host("Temp/copy")) == "data");
}

TEST_CASE("CreateDirectory creates once and reports existing names", "[fsys][unit]") {
    StoreFixture s;
    REQUIRE(s.root().create_directory(u"\\Temp\\New Dir").ok());
    CHECK(std::filesystem::is_directory(s.host("Temp/New Dir")));
    CHECK(err(s.root().create_directory(u"\\Temp\\NEW DIR")) == Win32Error::ERROR_ALREADY_EXISTS);
    write_host_file(s.host("Temp/file"), "x");
    CHECK(err(s.root().create_directory(u"\\Temp\\FILE")) == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(err(s.root().create_directory(u"\\")) == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(err(s.root().create_directory(u"\\none\\d")) == Win32Error::ERROR_PATH_NOT_FOUND);
    CHECK(err(s.root().create_directory(u"\\Temp\\.cek~d")) == Win32Error::ERROR_ACCESS_DENIED);
}

TEST_CASE("RemoveDirectory removes empty directories only", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/full"));
    write_host_file(s.host("Temp/full/f"), "x");
    std::filesystem::create_directories(s.host("Temp/Empty"));
    CHECK(err(s.root().remove_directory(u"\\Temp\\full")) == Win32Error::ERROR_DIR_NOT_EMPTY);
    REQUIRE(s.root().remove_directory(u"\\Temp\\EMPTY").ok());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/Empty")));
    CHECK(err(s.root().remove_directory(u"\\Temp\\Empty")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(err(s.root().remove_directory(u"\\Temp\\full\\f")) == Win32Error::ERROR_DIRECTORY);
    CHECK(err(s.root().remove_directory(u"\\none\\d")) == Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("RemoveDirectory ignores fsys leftovers when deciding emptiness", "[fsys][unit]") {
    StoreFixture s;
    std::filesystem::create_directories(s.host("Temp/d"));
    write_host_file(s.host("Temp/d/.cek~tmp.99.1"), "partial copy");
    REQUIRE(s.root().remove_directory(u"\\Temp\\d").ok());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/d")));
}

TEST_CASE("RemoveDirectory refuses the root, Windows, mount folders and READONLY",
          "[fsys][unit]") {
    StoreFixture s;
    CHECK(err(s.root().remove_directory(u"\\")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(err(s.root().remove_directory(u"\\WINDOWS")) == Win32Error::ERROR_ACCESS_DENIED);
    REQUIRE(s.root().create_directory(u"\\Storage Card").ok());
    REQUIRE(s.root().set_attributes(u"\\Storage Card", kAttrTemporary).ok());
    CHECK(err(s.root().remove_directory(u"\\Storage Card")) == Win32Error::ERROR_ACCESS_DENIED);
    REQUIRE(s.root().create_directory(u"\\Temp\\tmpdir").ok());
    REQUIRE(s.root().set_attributes(u"\\Temp\\tmpdir", kAttrTemporary).ok());
    CHECK(s.root().remove_directory(u"\\Temp\\tmpdir").ok());  // not a root folder
    REQUIRE(s.root().create_directory(u"\\Temp\\ro").ok());
    REQUIRE(s.root().set_attributes(u"\\Temp\\ro", kAttrReadonly).ok());
    CHECK(err(s.root().remove_directory(u"\\Temp\\ro")) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(std::filesystem::is_directory(s.host("Windows")));
    CHECK(std::filesystem::is_directory(s.host("Temp/ro")));
    CHECK(err(s.root().remove_directory(u"\\Temp")) == Win32Error::ERROR_DIR_NOT_EMPTY);
    REQUIRE(s.root().set_attributes(u"\\Temp\\ro", 0).ok());
    REQUIRE(s.root().remove_directory(u"\\Temp\\ro").ok());
    CHECK(s.root().remove_directory(u"\\Temp").ok());  // an ordinary root folder
}
