// Threads across processes (docs/semantics/threads.md): CE 5 thread ids are global handles, so
// another process waits on a thread by its id and reads its exit code; a process killed with
// SIGKILL while its threads are waited on signals those waits (its threads exit with 0).
// Another process suspends, resumes and terminates a thread: the target process's agent stops
// the host thread before the call returns (docs/decisions/0010-threads.md).
#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

// What another process passes to the thread calls for the thread with id `id`: the id itself
// in CE 5 (it is the handle value), the handle OpenThread gives `other` in CE 6.
std::string thread_handle_in(const KernelFixture& k, Child& other, const std::string& id) {
    if (k.ce5()) return id;
    std::string opened = other.ask("openthread " + id);
    REQUIRE(field(opened, 0) == "ok");
    return field(opened, 1);
}

}  // namespace

TEST_CASE("a thread of one process is waited on by another through its id",
          "[multiproc][thread]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t = a->ask("thread");
    REQUIRE(field(t, 0) == "ok");
    const std::string h = thread_handle_in(k, *b, field(t, 3));
    CHECK(b->ask("exitcode " + h) == "ok 0x103");  // STILL_ACTIVE
    b->write_line("wait inf " + h);
    REQUIRE(waiting(k, *b));
    CHECK(a->ask("set " + field(t, 2)) == "ok");
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(b->ask("exitcode " + h) == "ok 0x9");
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
    const std::string h1 = thread_handle_in(k, *b, field(t1, 3));
    const std::string h2 = thread_handle_in(k, *b, field(t2, 3));
    b->write_line("wait inf " + h1 + " " + h2);
    REQUIRE(waiting(k, *b));
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s).has_value());
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    if (k.ce5()) {
        // The thread objects went with the process's handles: the ids are no handles any more.
        CHECK(b->ask("exitcode " + h1) == "fail 6");
    } else {
        // b's own handle keeps the ended thread and its code (0: the process was killed).
        CHECK(b->ask("exitcode " + h1) == "ok 0x0");
    }
    CHECK(k.snapshot().waits.empty());
}

namespace {

// A count read through `read` reaches `target` within 10 s.
bool thread_reaches(const std::function<uint64_t()>& read, uint64_t target) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline)
        if (read() >= target) return true;
    return false;
}

// A count read through `read` grows within 10 s (the thread runs).
bool thread_advances(const std::function<uint64_t()>& read) {
    return thread_reaches(read, read() + 1);
}

uint64_t thread_counted(Child& c, int which) { return std::stoull(field(c.ask("counted"), which)); }

}  // namespace

TEST_CASE("another process suspends, resumes and terminates a running thread",
          "[multiproc][thread][suspend]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t = a->ask("spinner");
    REQUIRE(field(t, 0) == "ok");
    const std::string h = thread_handle_in(k, *b, field(t, 2));
    auto spun = [&] { return thread_counted(*a, 1); };
    REQUIRE(thread_advances(spun));
    CHECK(b->ask("suspend " + h) == "ok 0");
    // Parked before SuspendThread returned: the count no longer moves.
    const uint64_t frozen = spun();
    CHECK(a->ask("ping") == "ok");
    CHECK(spun() == frozen);
    CHECK(b->ask("suspend " + h) == "ok 1");
    CHECK(b->ask("resume " + h) == "ok 2");
    CHECK(spun() == frozen);
    CHECK(b->ask("resume " + h) == "ok 1");
    CHECK(thread_advances(spun));
    CHECK(b->ask("resume " + h) == "ok 0");
    // Suspended again, then terminated while parked: it never runs again.
    CHECK(b->ask("suspend " + h) == "ok 0");
    CHECK(b->ask("tterminate " + h + " 77") == "ok");
    CHECK(b->ask("wait 10000 " + h) == "ok 0x0");
    CHECK(b->ask("exitcode " + h) == "ok 0x4d");
    CHECK(b->ask("resume " + h) == "fail 6");
    const uint64_t ended = spun();
    CHECK(a->ask("ping") == "ok");
    CHECK(spun() == ended);
    // The process goes on, and ends with its own code.
    a->write_line("exit 3");
    auto status = a->wait(10s);
    REQUIRE(status.has_value());
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 3);
}

TEST_CASE("a thread suspended by another process while it waits does not run on when its "
          "object is signalled", "[multiproc][thread][suspend]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t = a->ask("waiter");
    REQUIRE(field(t, 0) == "ok");
    const std::string id = thread_handle_in(k, *b, field(t, 2)), event = field(t, 3);
    REQUIRE(waiting(k, *a));
    CHECK(b->ask("suspend " + id) == "ok 0");
    CHECK(a->ask("set " + event) == "ok");
    CHECK(b->ask("ping") == "ok");
    CHECK(thread_counted(*a, 2) == 0);
    CHECK(b->ask("resume " + id) == "ok 1");
    CHECK(thread_reaches([&] { return thread_counted(*a, 2); }, 1));  // it may have run already
    CHECK(thread_counted(*a, 2) == 1);
}

TEST_CASE("TerminateThread of another process's primary thread ends that process with the code",
          "[multiproc][thread][terminate]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string ids = a->ask("ids");
    REQUIRE(field(ids, 0) == "ok");
    const std::string process = field(ids, 1);
    const std::string primary = thread_handle_in(k, *b, field(ids, 2));
    std::string opened = b->ask("openproc " + process);  // keeps the process object
    REQUIRE(field(opened, 0) == "ok");
    CHECK(b->ask("tterminate " + primary + " 55") == "ok");
    REQUIRE(a->wait(10s).has_value());
    CHECK(b->ask("wait 10000 " + field(opened, 1)) == "ok 0x0");
    CHECK(b->ask("pexitcode " + field(opened, 1)) == "ok 0x37");
}

TEST_CASE("a SuspendThread waiting for another process's agent ends when that process is killed",
          "[multiproc][thread][suspend]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string t = a->ask("spinner");
    REQUIRE(field(t, 0) == "ok");
    const std::string id = thread_handle_in(k, *b, field(t, 2));
    REQUIRE(a->stop());  // its agent cannot run
    b->write_line("suspend " + id);
    CHECK_FALSE(b->read_line(300ms).has_value());  // waits for a's agent
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s).has_value());
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0");
    CHECK(b->ask("resume " + id) == "fail 6");
    CHECK(b->ask("ping") == "ok");
}

TEST_CASE("a thread suspended or terminated in the middle of its view, memory and TLS calls "
          "never keeps them from its process's other threads",
          "[multiproc][thread][suspend]") {
    // CE stops a thread only once its kernel call returns; the shim keeps the state of these
    // calls under locks of its own, which a park must never hold (decision 0010).
    KernelFixture k;
    auto a = k.spawn_child();
    std::string t = a->ask("statelooper", 30s);
    REQUIRE(field(t, 0) == "ok");
    const std::string h = field(t, 1);
    for (int i = 0; i < 20; ++i) {
        INFO("round " << i);
        REQUIRE(a->ask("suspend " + h) == "ok 0");
        REQUIRE(a->ask("stateround", 30s) == "ok");
        REQUIRE(a->ask("resume " + h) == "ok 1");
    }
    CHECK(a->ask("tterminate " + h + " 7") == "ok");
    CHECK(a->ask("wait 10000 " + h) == "ok 0x0");
    CHECK(a->ask("stateround", 30s) == "ok");
}
