// Durability: what CE promises is on disk (FlushViewOfFile, FlushFileBuffers,
// FILE_FLAG_WRITE_THROUGH) is in the host file after kill -9 of both the writer and the kernel,
// read straight from the host. Attribute updates are atomic: a kernel killed in the middle of
// a storm of SetFileAttributesW leaves every record whole, with the xattr store and with the
// sidecar store.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/xattr.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

// The stored attribute record of a host file, as the xattr holds it (nullopt: none).
std::optional<std::string> dosattrib(const std::string& path) {
    char buf[64];
    ssize_t n = ::getxattr(path.c_str(), "user.DOSATTRIB", buf, sizeof buf);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
}

constexpr const char* kReadWrite = "0xC0000000";
constexpr int kStormFiles = 3;
// HIDDEN|ARCHIVE and SYSTEM: neither is a file's default, so each is a stored record.
constexpr const char* kAttrsA = "0x22";
constexpr const char* kAttrsB = "0x4";

// Starts one SetFileAttributesW storm per file and waits until each has changed the file's
// attributes at least once (seen through `changed`), then kills the kernel.
template <class Changed>
std::vector<std::unique_ptr<Child>> storm_then_kill(KernelFixture& k, Changed changed) {
    auto setup = k.spawn_child();
    for (int i = 0; i < kStormFiles; ++i)
        REQUIRE(setup->ask("open /storm" + std::to_string(i) + " " + kReadWrite + " 3 1").rfind("ok", 0) == 0);
    setup->close_stdin();
    REQUIRE(setup->wait(10s));
    std::vector<std::unique_ptr<Child>> storms;
    for (int i = 0; i < kStormFiles; ++i) {
        storms.push_back(spawn_hostile(k));
        storms.back()->write_line("attrstorm /storm" + std::to_string(i) + " " + kAttrsA + " " + kAttrsB);
        REQUIRE(storms.back()->read_line(10s) == std::optional<std::string>("started"));
    }
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (int i = 0; i < kStormFiles; ++i)
        while (!changed(i)) REQUIRE(std::chrono::steady_clock::now() < deadline);
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    for (auto& s : storms) {
        auto line = s->read_line(10s);
        REQUIRE(line);
        CHECK(field(*line, 1) == "1062");
    }
    return storms;
}

// After the restart every storm file reports one of the two values, never a torn or lost one.
void check_restarted(KernelFixture& k, const std::vector<std::string>& extra_args) {
    k.start_kernel(extra_args);
    auto b = k.spawn_child();
    for (int i = 0; i < kStormFiles; ++i) {
        std::string attrs = b->ask("attrs /storm" + std::to_string(i));
        INFO("file " << i << ": " << attrs);
        CHECK((attrs == std::string("ok ") + kAttrsA || attrs == std::string("ok ") + kAttrsB));
    }
}

}  // namespace

TEST_CASE("data flushed, written through or FlushFileBuffers'd survives kill -9 of all",
          "[multiproc][durability]") {
    KernelFixture k;
    auto a = k.spawn_child();
    // A view flushed with FlushViewOfFile.
    std::string file = field(a->ask(std::string("cffm /Temp/view.bin ") + kReadWrite + " 0 2"), 1);
    std::string map = field(a->ask("fmap " + file + " 4 65536"), 1);
    std::string view = field(a->ask("map " + map + " 2 0 0"), 1);
    REQUIRE(!view.empty());
    REQUIRE(a->ask("fill " + view + " 65536 0x3c") == "ok");
    REQUIRE(field(a->ask("flush " + view + " 0"), 0) == "ok");
    // WriteFile then FlushFileBuffers.
    std::string flushed = field(a->ask(std::string("open /Temp/flushed.txt ") + kReadWrite + " 0 2"), 1);
    REQUIRE(a->ask("fwrite " + flushed + " flushed-file-buffers") == "ok 20");
    REQUIRE(a->ask("fflush " + flushed) == "ok");
    // WriteFile through FILE_FLAG_WRITE_THROUGH, no flush.
    std::string through =
        field(a->ask(std::string("open /Temp/through.txt ") + kReadWrite + " 0 2 0x80000000"), 1);
    REQUIRE(a->ask("fwrite " + through + " written-through") == "ok 15");
    // Both die at once, the writer still holding everything open.
    a->kill(SIGKILL);
    k.kill_kernel(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_kernel(10s));
    CHECK(host_file(k, "Temp/view.bin") == std::string(65536, '\x3c'));
    CHECK(host_file(k, "Temp/flushed.txt") == "flushed-file-buffers");
    CHECK(host_file(k, "Temp/through.txt") == "written-through");
    // A new kernel sees the same and can open them all exclusively.
    k.start_kernel();
    auto b = k.spawn_child();
    for (const char* path : {"/Temp/view.bin", "/Temp/flushed.txt", "/Temp/through.txt"})
        CHECK(field(b->ask(std::string("open ") + path + " " + kReadWrite + " 0 3"), 0) == "ok");
}

TEST_CASE("a kernel killed in a SetFileAttributesW storm leaves whole xattr records",
          "[multiproc][durability][attributes]") {
    KernelFixture k;
    // Skip hosts whose file system has no user xattrs: the sidecar case below covers them.
    if (::setxattr(k.root().c_str(), "user.cek.test", "1", 1, 0) != 0) {
        WARN("no user xattrs on " << k.root() << ": the xattr store is not used there");
        return;
    }
    ::removexattr(k.root().c_str(), "user.cek.test");
    auto storms = storm_then_kill(k, [&](int i) {
        return dosattrib(k.root() + "/storm" + std::to_string(i)).has_value();
    });
    for (int i = 0; i < kStormFiles; ++i) {
        auto value = dosattrib(k.root() + "/storm" + std::to_string(i));
        REQUIRE(value);
        CHECK((*value == kAttrsA || *value == kAttrsB));
    }
    check_restarted(k, {});
}

TEST_CASE("a kernel killed in a SetFileAttributesW storm leaves a whole sidecar store",
          "[multiproc][durability][attributes]") {
    KernelFixture k;
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    k.start_kernel({"--sidecar-attributes"});
    const std::string sidecar = k.root() + "/.cek~attrs";
    // The store lists a record per changed file: "<ino> <btime|-> <attrs>".
    auto records = [&] {
        std::string text = host_file(k, ".cek~attrs");
        return static_cast<int>(std::count(text.begin(), text.end(), '\n')) - 1;
    };
    auto storms = storm_then_kill(k, [&](int) { return records() == kStormFiles; });
    // Whole: the header and one well-formed line per file, each with one of the two values.
    std::istringstream in(host_file(k, ".cek~attrs"));
    std::string line;
    REQUIRE(std::getline(in, line));
    CHECK(line == "cek-attrs 1");
    int lines = 0;
    while (std::getline(in, line)) {
        ++lines;
        auto w = words(line);
        REQUIRE(w.size() == 3);
        CHECK((w[2] == kAttrsA || w[2] == kAttrsB));
    }
    CHECK(lines == kStormFiles);
    check_restarted(k, {"--sidecar-attributes"});
}
