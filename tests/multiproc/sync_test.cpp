// Events, mutexes and semaphores across processes and threads: waits that complete later while
// the kernel serves everyone else, abandonment by kill -9, timeouts, mutual exclusion under
// load, and the channel slot kept free for the calls that end waits.
#include <catch2/catch.hpp>
#include <signal.h>

#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

TEST_CASE("a wait in one process completes when another process sets the event",
          "[multiproc][sync]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string made = a->ask("event go 0 0");
    REQUIRE(field(made, 0) == "ok");
    CHECK(field(made, 2) == "0");
    std::string opened = b->ask("openevent go");
    REQUIRE(field(opened, 0) == "ok");
    CHECK(field(opened, 1) == field(made, 1));
    b->write_line("wait inf " + field(opened, 1));
    REQUIRE(waiting(k, *b));
    // The kernel serves a's calls while b's wait is pending.
    CHECK(field(a->ask("create other 4096 4"), 0) == "ok");
    CHECK(a->ask("set " + field(made, 1)) == "ok");
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    // Auto-reset: the event consumed by b's wait.
    CHECK(b->ask("wait 0 " + field(opened, 1)) == "ok 0x102");
}

TEST_CASE("a mutex held by a process killed with SIGKILL is abandoned to the waiter",
          "[multiproc][sync]") {
    KernelFixture k;
    auto owner = k.spawn_child();
    auto waiter = k.spawn_child();
    std::string m = owner->ask("mutex db-lock 1");
    REQUIRE(field(m, 0) == "ok");
    std::string opened = waiter->ask("mutex db-lock 0");
    REQUIRE(field(opened, 2) == "183");
    waiter->write_line("wait inf " + field(opened, 1));
    REQUIRE(waiting(k, *waiter));
    owner->kill(SIGKILL);
    REQUIRE(owner->wait(10s).has_value());
    CHECK(waiter->read_line(10s).value_or("timeout") == "ok 0x80");
    // It owns the mutex now, plainly.
    CHECK(waiter->ask("release " + field(opened, 1)) == "ok");
    CHECK(waiter->ask("release " + field(opened, 1)) == "fail 288");
}

TEST_CASE("a mutex taken through its shared word: a second process's waits go through the "
          "kernel, the owner keeps its count and hands it on",
          "[multiproc][sync][word]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string m = a->ask("mutex wordlock 0");
    REQUIRE(field(m, 0) == "ok");
    const std::string a_tid = field(a->ask("tid"), 1);
    CHECK(a->ask("wait 0 " + field(m, 1)) == "ok 0x0");
    CHECK(a->ask("wait 0 " + field(m, 1)) == "ok 0x0");  // recursion, in the word
    // The kernel was asked for the word and holds nothing: the owner is what the word says.
    const uint32_t a_id = process_id_of(k.snapshot(), a->pid());
    CHECK(object_detail(k.snapshot(), "mutex", "word") == "shared, 1 processes");
    CHECK(object_detail(k.snapshot(), "mutex", "owner") == "process " + std::to_string(a_id) + " tid " + a_tid);
    CHECK(object_detail(k.snapshot(), "mutex", "recursion") == "2");
    std::string opened = b->ask("mutex wordlock 0");
    REQUIRE(field(opened, 2) == "183");
    CHECK(b->ask("wait 0 " + field(opened, 1)) == "ok 0x102");
    CHECK(b->ask("release " + field(opened, 1)) == "fail 288");
    b->write_line("wait 30000 " + field(opened, 1));
    REQUIRE(waiting(k, *b));
    CHECK(object_detail(k.snapshot(), "mutex", "word") == "kernel");
    CHECK(a->ask("release " + field(m, 1)) == "ok");
    CHECK(a->ask("release " + field(m, 1)) == "ok");
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(a->ask("release " + field(m, 1)) == "fail 288");
    const std::string b_tid = field(b->ask("tid"), 1);
    const uint32_t b_id = process_id_of(k.snapshot(), b->pid());
    CHECK(object_detail(k.snapshot(), "mutex", "owner") == "process " + std::to_string(b_id) + " tid " + b_tid);
    CHECK(b->ask("wait 0 " + field(opened, 1)) == "ok 0x0");
    CHECK(b->ask("release " + field(opened, 1)) == "ok");
    CHECK(b->ask("release " + field(opened, 1)) == "ok");
    CHECK(b->ask("release " + field(opened, 1)) == "fail 288");
    CHECK(object_detail(k.snapshot(), "mutex", "owner") == "none");
    CHECK(a->ask("wait 0 " + field(m, 1)) == "ok 0x0");
    CHECK(a->ask("release " + field(m, 1)) == "ok");
}

TEST_CASE("a process killed with SIGKILL while it owns a mutex through its word abandons it",
          "[multiproc][sync][word]") {
    KernelFixture k;
    auto owner = k.spawn_child();
    auto waiter = k.spawn_child();
    std::string m = owner->ask("mutex worddb 0");
    REQUIRE(field(m, 0) == "ok");
    CHECK(owner->ask("wait 0 " + field(m, 1)) == "ok 0x0");
    std::string opened = waiter->ask("mutex worddb 0");
    REQUIRE(field(opened, 2) == "183");
    const bool parked = GENERATE(false, true);
    CAPTURE(parked);
    if (parked) {
        waiter->write_line("wait inf " + field(opened, 1));
        REQUIRE(waiting(k, *waiter));
    }
    owner->kill(SIGKILL);
    REQUIRE(owner->wait(10s).has_value());
    if (parked) {
        CHECK(waiter->read_line(10s).value_or("timeout") == "ok 0x80");
    } else {
        REQUIRE(k.wait_for([&](const cek::proto::Snapshot& s) {
            return process_id_of(s, owner->pid()) == 0;
        }));
        CHECK(waiter->ask("wait 0 " + field(opened, 1)) == "ok 0x80");
    }
    CHECK(waiter->ask("release " + field(opened, 1)) == "ok");
    CHECK(waiter->ask("release " + field(opened, 1)) == "fail 288");
}

TEST_CASE("a wait times out in the kernel with WAIT_TIMEOUT", "[multiproc][sync]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string sem = a->ask("sem - 0 1");
    REQUIRE(field(sem, 0) == "ok");
    CHECK(a->ask("wait 0 " + field(sem, 1)) == "ok 0x102");
    CHECK(a->ask("wait 50 " + field(sem, 1), 10s) == "ok 0x102");
    CHECK(a->ask("semrel " + field(sem, 1) + " 1") == "ok 0");
    CHECK(a->ask("wait 50 " + field(sem, 1)) == "ok 0x0");
    auto s = k.snapshot();
    CHECK(s.waits.empty());
}

TEST_CASE("a process killed while waiting takes nothing and leaves no wait behind",
          "[multiproc][sync]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string sem = a->ask("sem tokens 0 5");
    REQUIRE(field(sem, 0) == "ok");
    std::string opened = b->ask("sem tokens 0 5");
    REQUIRE(field(opened, 2) == "183");
    b->write_line("wait inf " + field(opened, 1));
    REQUIRE(waiting(k, *b));
    b->kill(SIGKILL);
    REQUIRE(b->wait(10s).has_value());
    REQUIRE(k.wait_for([&](const cek::proto::Snapshot& s) {
        return s.waits.empty() && process_id_of(s, b->pid()) == 0;
    }));
    CHECK(a->ask("semrel " + field(sem, 1) + " 1") == "ok 0");
    CHECK(a->ask("wait 0 " + field(sem, 1)) == "ok 0x0");
}

TEST_CASE("cedump-visible state: owners and waiting threads", "[multiproc][sync]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string m = a->ask("mutex shown 1");
    std::string a_tid = field(a->ask("tid"), 1);
    std::string opened = b->ask("mutex shown 0");
    std::string b_tid = field(b->ask("tid"), 1);
    b->write_line("wait 30000 " + field(opened, 1));
    REQUIRE(waiting(k, *b));
    auto s = k.snapshot();
    uint32_t a_id = process_id_of(s, a->pid());
    bool found = false;
    for (const auto& o : s.objects) {
        if (o.type != "mutex") continue;
        for (const auto& [key, value] : o.details) {
            if (key == "owner")
                CHECK(value == "process " + std::to_string(a_id) + " tid " + a_tid);
            if (key == "waiters") CHECK(value == "1");
        }
        found = true;
    }
    CHECK(found);
    REQUIRE(s.waits.size() == 1);
    CHECK(std::to_string(s.waits[0].thread_id) == b_tid);
    CHECK(s.waits[0].timeout_ms == 30000);
    CHECK(a->ask("release " + field(m, 1)) == "ok");
    CHECK(b->read_line(10s).value_or("timeout") == "ok 0x0");
}

TEST_CASE("a named mutex excludes threads of several processes: no lost update, no lost "
          "wake-up",
          "[multiproc][sync][load]") {
    KernelFixture k;
    constexpr int kProcesses = 4, kThreads = 3, kIterations = 300;
    std::vector<std::unique_ptr<Child>> children;
    for (int i = 0; i < kProcesses; ++i) children.push_back(k.spawn_child());
    auto reader = k.spawn_child();
    std::string counter = reader->ask("create counter 4096 4");
    REQUIRE(field(counter, 0) == "ok");
    std::string view = reader->ask("map " + field(counter, 1) + " 4 0 0");
    REQUIRE(field(view, 0) == "ok");
    for (auto& c : children)
        c->write_line("mutexloop lock counter " + std::to_string(kThreads) + " " +
                      std::to_string(kIterations));
    for (auto& c : children) CHECK(c->read_line(120s).value_or("timeout") == "ok 0");
    constexpr uint32_t kTotal = kProcesses * kThreads * kIterations;
    CHECK(reader->ask("peek32 " + field(view, 1)) == "ok " + std::to_string(kTotal));
    CHECK(k.snapshot().waits.empty());
}

TEST_CASE("a thread's SetEvent gets through while more threads wait than the channel has slots",
          "[multiproc][sync]") {
    KernelFixture k;
    auto a = k.spawn_child();
    CHECK(a->ask("slotflood 80", 60s) == "ok 80");
}

TEST_CASE("DuplicateHandle in a process: same value, CE 5 errors", "[multiproc][sync][ce5]") {
    // CE 6's DuplicateHandle: tests/multiproc/ce6_test.cpp.
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    std::string e = a->ask("event - 1 0");
    REQUIRE(field(e, 0) == "ok");
    CHECK(a->ask("dup " + field(e, 1) + " 2") == "ok " + field(e, 1));
    CHECK(a->ask("dup " + field(e, 1) + " 0") == "fail 87");
    std::string map = a->ask("create - 4096 4");
    CHECK(a->ask("dup " + field(map, 1) + " 2") == "fail 87");
    // Two references now: two closes succeed, the third fails.
    CHECK(field(a->ask("close " + field(e, 1)), 0) == "ok");
    CHECK(field(a->ask("close " + field(e, 1)), 0) == "ok");
    CHECK(a->ask("close " + field(e, 1)) == "fail 6");
}

TEST_CASE("a waiter killed before the kernel reads its hang-up takes no signal: the next gets it",
          "[multiproc][sync][death]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    auto c = k.spawn_child();
    std::string made = a->ask("event relay 0 0");
    REQUIRE(field(made, 0) == "ok");
    std::string hb = b->ask("openevent relay");
    std::string hc = c->ask("openevent relay");
    REQUIRE(field(hb, 0) == "ok");
    REQUIRE(field(hc, 0) == "ok");
    b->write_line("wait inf " + field(hb, 1));
    REQUIRE(waiting(k, *b));
    c->write_line("wait inf " + field(hc, 1));
    REQUIRE(waiting(k, *c));
    {
        // With the kernel stopped, b dies and a's SetEvent is published; resumed, the kernel
        // serves the channel before it reads b's hang-up, so b's wait (the oldest) is still
        // listed when the event is set.
        const pid_t kernel = k.kernel_pid();
        struct Resume {
            pid_t pid;
            ~Resume() { ::kill(pid, SIGCONT); }
        } resume{kernel};
        REQUIRE(stop_process(kernel));
        a->write_line("set " + field(made, 1));
        b->kill(SIGKILL);
        REQUIRE(b->wait(10s).has_value());
    }
    CHECK(a->read_line(10s).value_or("timeout") == "ok");
    CHECK(c->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(k.wait_for([](const cek::proto::Snapshot& s) { return s.waits.empty(); }));
}
