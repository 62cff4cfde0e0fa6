// Files and file-backed mappings across processes: CE 5's CreateFileForMapping sequence,
// sharing, the shared file pointer, coherence of views and ReadFile/WriteFile, durability.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {


constexpr const char* kRead = "0x80000000";
constexpr const char* kReadWrite = "0xC0000000";

}  // namespace

TEST_CASE("the CreateFileForMapping sequence shares a file mapping between two processes",
          "[multiproc][file][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    // CE 5 seed: CreateFileForMapping -> CreateFileMapping (takes the file over) -> MapViewOfFile.
    std::string file = a->ask(std::string("cffm /Temp/seed.bin ") + kReadWrite + " 0 2");
    REQUIRE(field(file, 0) == "ok");
    std::string map = a->ask("fmap " + field(file, 1) + " 4 8192 SeedMap");
    REQUIRE(field(map, 0) == "ok");
    CHECK(field(map, 2) == "0");
    CHECK(host_file(k, "Temp/seed.bin").size() == 8192);  // extended before returning
    std::string view_a = field(a->ask("map " + field(map, 1) + " 0xF001F 0 0"), 1);
    REQUIRE(a->ask("write " + view_a + " seeded-by-a") == "ok");

    std::string opened = b->ask("create SeedMap 0 4");
    CHECK(field(opened, 1) == field(map, 1));
    CHECK(field(opened, 2) == "183");
    std::string view_b = field(b->ask("map " + field(opened, 1) + " 4 0 0"), 1);
    CHECK(view_b == view_a);
    CHECK(b->ask("read " + view_b + " 11") == "ok seeded-by-a");

    // The mapping owns the file handle now: closing it fails, yet I/O through it still works
    // and sees the view's bytes.
    CHECK(a->ask("close " + field(file, 1)) == "fail 6");
    CHECK(a->ask("seek " + field(file, 1) + " 0 0") == "ok 0");
    CHECK(a->ask("fread " + field(file, 1) + " 11") == "ok seeded-by-a");

    // FlushViewOfFile from the other process puts the data on the host disk.
    CHECK(field(b->ask("flush " + view_b + " 0"), 0) == "ok");
    CHECK(host_file(k, "Temp/seed.bin").substr(0, 11) == "seeded-by-a");
}

TEST_CASE("a file held exclusively by a process killed with -9 can be opened again",
          "[multiproc][file][death]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string held = a->ask(std::string("open /Temp/excl.txt ") + kReadWrite + " 0 2");
    REQUIRE(field(held, 0) == "ok");
    CHECK(b->ask(std::string("open /temp/EXCL.TXT ") + kRead + " 3 3") == "fail 32");
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_for([](const auto& s) { return app_processes(s) == 1; }));
    CHECK(field(b->ask(std::string("open /temp/EXCL.TXT ") + kReadWrite + " 0 3"), 0) == "ok");
}

TEST_CASE("writes through a file and through a view of it agree in both directions",
          "[multiproc][file][coherence]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    // FILE_SHARE_WRITE_OVERRIDE: the CE 5 way to let others open a mapped file for writing.
    std::string file = field(a->ask(std::string("cffm /Temp/coherent.bin ") + kReadWrite +
                                    " 0x40000000 2"), 1);
    std::string map = field(a->ask("fmap " + file + " 4 4096"), 1);
    std::string view = field(a->ask("map " + map + " 2 0 0"), 1);
    REQUIRE(a->ask("write " + view + " from-the-view") == "ok");

    std::string other = field(b->ask(std::string("open /Temp/coherent.bin ") + kReadWrite + " 3 3"), 1);
    REQUIRE(!other.empty());
    CHECK(b->ask("fread " + other + " 13") == "ok from-the-view");
    CHECK(b->ask("seek " + other + " 100 0") == "ok 100");
    CHECK(b->ask("fwrite " + other + " from-writefile") == "ok 14");
    CHECK(a->ask("read " + std::to_string(std::stoull(view, nullptr, 16) + 100) + " 14") ==
          "ok from-writefile");
    // Shrinking the file below the mapping fails; deleting it while open fails.
    CHECK(b->ask("seek " + other + " 10 0") == "ok 10");
    CHECK(b->ask("eof " + other) == "fail 1224");
    CHECK(b->ask("del /Temp/coherent.bin") == "fail 32");
}

TEST_CASE("every process using a kernel-owned file handle shares its file pointer",
          "[multiproc][file][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string file = field(a->ask(std::string("cffm /Temp/pointer.txt ") + kReadWrite + " 0 2"), 1);
    REQUIRE(!file.empty());
    // CE 5: CreateFileForMapping handles are owned by the kernel, so b may use a's value.
    CHECK(b->ask("fwrite " + file + " abc") == "ok 3");
    CHECK(a->ask("seek " + file + " 0 1") == "ok 3");
    CHECK(a->ask("fwrite " + file + " def") == "ok 3");
    CHECK(b->ask("fsize " + file) == "ok 6");
    // Only the creator may close it before a mapping takes it over.
    CHECK(b->ask("close " + file) == "fail 6");
    CHECK(field(a->ask("close " + file), 0) == "ok");
    CHECK(b->ask("fsize " + file) == "fail 6");
    CHECK(host_file(k, "Temp/pointer.txt") == "abcdef");
}

TEST_CASE("data flushed from a view survives kill -9 of the process that wrote it",
          "[multiproc][file][durability]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string file = field(a->ask(std::string("cffm /Temp/durable.bin ") + kReadWrite + " 0 2"), 1);
    std::string map = field(a->ask("fmap " + file + " 4 65536"), 1);
    std::string view = field(a->ask("map " + map + " 2 0 0"), 1);
    REQUIRE(a->ask("fill " + view + " 65536 0x7e") == "ok");
    REQUIRE(field(a->ask("flush " + view + " 0"), 0) == "ok");
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_for([](const auto& s) { return s.objects.empty(); }));
    std::string data = host_file(k, "Temp/durable.bin");
    REQUIRE(data.size() == 65536);
    CHECK(data == std::string(65536, '\x7e'));
    // The process's death closed the mapping and its file: it opens exclusively again.
    auto b = k.spawn_child();
    CHECK(field(b->ask(std::string("open /Temp/durable.bin ") + kReadWrite + " 0 3"), 0) == "ok");
}

TEST_CASE("the file API works end to end from a C program built with -fshort-wchar",
          "[multiproc][file][api]") {
    KernelFixture k;
    Child app({program("CEK_API_FILES")}, k.client_env());
    CHECK(app.read_line(30s) == std::optional<std::string>("ok"));
    auto status = app.wait(30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}
