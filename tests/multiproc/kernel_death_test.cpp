// The kernel killed with -9 while clients are in the middle of calls: every call fails at once
// with ERROR_SERVICE_NOT_ACTIVE, a new kernel starts cleanly on the same root and runtime
// directory, and what was written to the file system before is all there.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> dev_shm() {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/dev/shm", ec)) names.insert(e.path().filename());
    return names;
}

std::set<std::string> runtime_entries(const KernelFixture& k) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(k.runtime_dir())) names.insert(e.path().filename());
    return names;
}

}  // namespace

TEST_CASE("kill -9 of the kernel mid-call fails every caller with ERROR_SERVICE_NOT_ACTIVE",
          "[multiproc][kernel][death]") {
    const auto shm_before = dev_shm();
    KernelFixture k;
    std::vector<std::unique_ptr<Child>> loops;
    for (int i = 0; i < 4; ++i) {
        loops.push_back(spawn_hostile(k));
        loops.back()->write_line("loop");
        REQUIRE(loops.back()->read_line(10s) == std::optional<std::string>("started"));
    }
    // All four are calling: each has made calls the kernel answered.
    REQUIRE(k.wait_for([](const cek::proto::Snapshot& s) { return app_processes(s) == 4; }));
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    // Each loop ends on its own (a bounded wait inside the shim), with CE's error.
    for (auto& c : loops) {
        auto line = c->read_line(10s);
        REQUIRE(line);
        CHECK(field(*line, 0) == "stopped");
        CHECK(field(*line, 1) == "1062");
        CHECK(std::stoull(field(*line, 2)) > 0);
    }
    // A new kernel on the same root and runtime directory: the dead one's socket is replaced,
    // and clients (old ones reconnect only as new processes) work again.
    k.start_kernel();
    auto fresh = k.spawn_child();
    CHECK(field(fresh->ask("create after-restart 4096 4"), 2) == "0");
    fresh->close_stdin();
    REQUIRE(fresh->wait(10s));
    for (auto& c : loops) c->close_stdin();
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    // Nothing stale: no socket in the runtime directory, no shared memory name anywhere.
    for (const auto& name : runtime_entries(k)) CHECK(name.find(".sock") == std::string::npos);
    for (const auto& name : dev_shm())
        if (shm_before.count(name) == 0)
            CHECK(name.find("cek") == std::string::npos);
}

TEST_CASE("after the kernel's death a mutex's shared word is not used: its waits fail too",
          "[multiproc][kernel][death][word]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string m = a->ask("mutex death-word 0");
    REQUIRE(field(m, 0) == "ok");
    REQUIRE(a->ask("wait 0 " + field(m, 1)) == "ok 0x0");  // through the word
    REQUIRE(a->ask("release " + field(m, 1)) == "ok");
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    CHECK(a->ask("event - 0 0") == "fail 1062");  // the shim has seen the death
    CHECK(a->ask("wait 0 " + field(m, 1)) == "fail 1062");
    CHECK(a->ask("release " + field(m, 1)) == "fail 1062");
}

TEST_CASE("files and attributes written before kill -9 of the kernel are intact after restart",
          "[multiproc][kernel][death][file]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto h = spawn_hostile(k);
    std::string file = a->ask("open /Temp/kept.txt 0xC0000000 0 2");
    REQUIRE(field(file, 0) == "ok");
    REQUIRE(a->ask("fwrite " + field(file, 1) + " written-before-the-crash") == "ok 24");
    REQUIRE(a->ask("fflush " + field(file, 1)) == "ok");
    REQUIRE(a->ask("close " + field(file, 1)).rfind("ok", 0) == 0);
    REQUIRE(a->ask("open /Temp/dir-marker 0xC0000000 0 1").rfind("ok", 0) == 0);
    // HIDDEN|SYSTEM|ARCHIVE on one, READONLY|HIDDEN on the other.
    REQUIRE(h->ask("setattr /Temp/kept.txt 0x26") == "ok");
    REQUIRE(h->ask("setattr /Temp/dir-marker 0x3") == "ok");
    // The client is still attached with an open file when the kernel dies.
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    CHECK(a->ask("attrs /Temp/kept.txt", 10s) == "fail 1062");
    k.start_kernel();
    auto b = k.spawn_child();
    CHECK(b->ask("attrs /Temp/kept.txt") == "ok 0x26");
    CHECK(b->ask("attrs /Temp/dir-marker") == "ok 0x3");
    std::string again = b->ask("open /Temp/kept.txt 0x80000000 0 3");
    REQUIRE(field(again, 0) == "ok");
    CHECK(b->ask("fread " + field(again, 1) + " 100") == "ok written-before-the-crash");
    CHECK(host_file(k, "Temp/kept.txt") == "written-before-the-crash");
    // The file the dead kernel had open exclusively opens exclusively again.
    CHECK(field(b->ask("open /Temp/dir-marker 0x80000000 0 3"), 0) == "ok");
}
