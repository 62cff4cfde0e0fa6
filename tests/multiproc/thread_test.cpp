// Threads across processes (docs/semantics/threads.md): CE 5 thread ids are global handles, so
// another process waits on a thread by its id and reads its exit code; a process killed with
// SIGKILL while its threads are waited on signals those waits (its threads exit with 0).
#include <catch2/catch.hpp>
#include <signal.h>

#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

TEST_CASE("a thread of one process is waited on by another through its id",
          "[multiproc][thread]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t = a->ask("thread");
    REQUIRE(field(t, 0) == "ok");
    CHECK(b->ask("exitcode " + field(t, 1)) == "ok 0x103");  // STILL_ACTIVE
    b->write_line("wait inf " + field(t, 1));
    REQUIRE(waiting(k, *b));
    CHECK(a->ask("set " + field(t, 2)) == "ok");
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(b->ask("exitcode " + field(t, 1)) == "ok 0x9");
    CHECK(a->ask("exitcode " + field(t, 1)) == "ok 0x9");
}

TEST_CASE("a process killed with SIGKILL signals the waits on its threads",
          "[multiproc][thread]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t1 = a->ask("thread");
    std::string t2 = a->ask("thread");
    REQUIRE(field(t1, 0) == "ok");
    REQUIRE(field(t2, 0) == "ok");
    b->write_line("wait inf " + field(t1, 1) + " " + field(t2, 1));
    REQUIRE(waiting(k, *b));
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s).has_value());
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    // The thread objects went with the process's handles: the ids are no handles any more.
    CHECK(b->ask("exitcode " + field(t1, 1)) == "fail 6");
    CHECK(k.snapshot().waits.empty());
}
