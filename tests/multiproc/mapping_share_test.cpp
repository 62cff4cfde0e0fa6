// Named RAM-backed mappings shared between processes, and what a process's death releases.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {


bool holds_anything(const cek::proto::Snapshot& s, int pid) {
    uint32_t id = process_id_of(s, pid);
    if (id == 0) return false;
    for (const auto& h : s.handles)
        for (const auto& r : h.refs)
            if (r.process_id == id) return true;
    for (const auto& v : s.views)
        if (v.process_id == id) return true;
    return true;  // still attached
}

}  // namespace

TEST_CASE("a named mapping is the same pages at the same address in a second process",
          "[multiproc][mapping]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string created = a->ask("create shared-1 8192 4");
    REQUIRE(field(created, 0) == "ok");
    REQUIRE(field(created, 2) == "0");  // named create sets the last error to 0
    std::string view_a = a->ask("map " + field(created, 1) + " 0xF001F 0 0");
    REQUIRE(field(view_a, 0) == "ok");
    REQUIRE(a->ask("write " + field(view_a, 1) + " written-by-a") == "ok");

    // The open-by-create idiom: size 0, ERROR_ALREADY_EXISTS, and in CE 5 the same handle value.
    std::string opened = b->ask("create shared-1 0 4");
    REQUIRE(field(opened, 0) == "ok");
    if (k.ce5()) CHECK(field(opened, 1) == field(created, 1));
    CHECK(field(opened, 2) == "183");
    std::string view_b = b->ask("map " + field(opened, 1) + " 4 0 0");
    REQUIRE(field(view_b, 0) == "ok");
    CHECK(field(view_b, 1) == field(view_a, 1));
    CHECK(b->ask("read " + field(view_b, 1) + " 12") == "ok written-by-a");

    // And back: a READ view of a read-write mapping is writable in CE 5; CE 6 opens it read-only
    // (ce6_test.cpp), so b writes through a write view there, at the same address.
    if (!k.ce5()) {
        view_b = b->ask("map " + field(opened, 1) + " 2 0 0");
        REQUIRE(field(view_b, 1) == field(view_a, 1));
    }
    REQUIRE(b->ask("write " + field(view_b, 1) + " answer-by-b!") == "ok");
    CHECK(a->ask("read " + field(view_a, 1) + " 12") == "ok answer-by-b!");
}

TEST_CASE("a handle value that another process never opened is invalid there",
          "[multiproc][handle]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string created = a->ask("create - 4096 4");
    REQUIRE(field(created, 0) == "ok");
    // Unnamed: CE 5 leaves the last error alone, CE 6 sets it even on success.
    CHECK(field(created, 2) == (k.ce5() ? "keep" : "0"));
    CHECK(b->ask("map " + field(created, 1) + " 4 0 0") == "fail 6");
    CHECK(b->ask("close " + field(created, 1)) == "fail 6");
    CHECK(field(a->ask("close " + field(created, 1)), 0) == "ok");
}

TEST_CASE("a view in another process keeps the mapping and its name alive",
          "[multiproc][mapping]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string created = a->ask("create keep-alive 4096 4");
    std::string h = field(created, 1);
    std::string view_a = a->ask("map " + h + " 2 0 0");
    REQUIRE(a->ask("fill " + field(view_a, 1) + " 4096 0x5a") == "ok");
    const std::string hb = field(b->ask("create keep-alive 0 4"), 1);  // CE 5: the same as h
    std::string view_b = b->ask("map " + hb + " 2 0 0");
    REQUIRE(field(view_b, 0) == "ok");
    REQUIRE(b->ask("close " + hb).rfind("ok", 0) == 0);  // b keeps only its view
    REQUIRE(a->ask("exit 0").empty());
    REQUIRE(a->wait(10s));
    CHECK(b->ask("check " + field(view_b, 1) + " 4096 0x5a") == "ok");
    auto c = k.spawn_child();
    CHECK(field(c->ask("create keep-alive 0 4"), 2) == "183");
}

TEST_CASE("kill -9 of a process releases exactly its handles and views", "[multiproc][death]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string h = field(a->ask("create victim-map 65536 4"), 1);
    REQUIRE(field(a->ask("map " + h + " 2 0 0"), 0) == "ok");
    REQUIRE(field(a->ask("map " + h + " 2 100 0"), 0) == "ok");
    std::string hb = field(b->ask("create survivor-map 4096 4"), 1);
    REQUIRE(field(b->ask("create victim-map 0 4"), 2) == "183");
    int pid_a = a->pid();
    REQUIRE(k.wait_for([&](const auto& s) { return s.views.size() == 2; }));

    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_for([&](const auto& s) { return app_processes(s) == 1; }));
    auto s = k.snapshot();
    CHECK_FALSE(holds_anything(s, pid_a));
    CHECK(s.views.empty());
    // b's references are untouched: both mappings still live, each with one reference of b's.
    REQUIRE(object_handles(s) == 2);
    for (const auto& handle : s.handles) {
        if (handle.type == "process") continue;
        REQUIRE(handle.refs.size() == 1);
        CHECK(handle.refs[0].count == 1);
    }
    CHECK(field(b->ask("close " + hb), 0) == "ok");
}

TEST_CASE("kill -9 in the middle of a storm of calls leaves nothing behind",
          "[multiproc][death]") {
    KernelFixture k;
    auto observer = k.spawn_child();
    std::string kept = field(observer->ask("create storm-0 4096 4"), 1);  // shared with the storm
    for (int round = 0; round < 5; ++round) {
        auto victim = k.spawn_child();
        victim->write_line("storm 0 " + std::to_string(round));
        REQUIRE(victim->read_line(10s) == std::optional<std::string>("started"));
        // Let it run a few kernel round trips of ours, then kill it wherever it is.
        for (int i = 0; i <= round; ++i) (void)k.snapshot();
        victim->kill(SIGKILL);
        auto status = victim->wait(10s);
        REQUIRE(status);
        // It died of our kill in the middle of its calls, not of anything earlier.
        CHECK(WIFSIGNALED(*status));
        CHECK(WTERMSIG(*status) == SIGKILL);
        REQUIRE(k.wait_for([&](const auto& s) { return app_processes(s) == 1; }));
        auto s = k.snapshot();
        CHECK(s.views.empty());
        REQUIRE(object_handles(s) == 1);  // and the observer's own entry
        for (const auto& h : s.handles)
            if (h.type != "process") CHECK(h.refs.size() == 1);
        CHECK(s.objects.size() == 2);
    }
    // The survivor still works and still holds exactly its handle.
    CHECK(field(observer->ask("map " + kept + " 2 0 0"), 0) == "ok");
}

TEST_CASE("threads of one process call the kernel concurrently", "[multiproc][threads]") {
    KernelFixture k;
    auto a = k.spawn_child();
    CHECK(a->ask("threads 8 200", 60s) == "ok 0");
    REQUIRE(k.wait_for([](const auto& s) { return object_handles(s) == 0 && s.views.empty(); }));
}

TEST_CASE("threads of one process take descriptors at the same time without mix-ups",
          "[multiproc][threads][descriptors]") {
    // Each first I/O on a file and each first view of a mapping receives the kernel's
    // descriptor on the process's one socket (docs/decisions/0008-descriptor-passing.md): with
    // 8 threads at once, messages for one thread arrive while another reads.
    KernelFixture k;
    auto a = k.spawn_child();
    CHECK(a->ask("fdtakes 8 25", 120s) == "ok 0");
    CHECK(a->ask("threads 4 50", 60s) == "ok 0");  // and the process goes on as before
}

TEST_CASE("fork gives the child a fresh identity with no handles", "[multiproc][fork]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create - 4096 4"), 1);
    CHECK(a->ask("forkcheck " + h, 20s) == "ok");
    CHECK(field(a->ask("close " + h), 0) == "ok");
}

TEST_CASE("exec re-attaches the process as a new CE process", "[multiproc][exec]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create before-exec 4096 4"), 1);
    REQUIRE(!h.empty());
    REQUIRE(a->ask("exec") == "ok");
    // The old image's connection closed with the exec: its handle is gone with it.
    REQUIRE(k.wait_for([](const auto& s) { return s.handles.empty(); }));
    REQUIRE(a->ask("ping") == "ok");
    CHECK(a->ask("close " + h) == "fail 6");
    std::string again = a->ask("create before-exec 4096 4");
    CHECK(field(again, 2) == "0");  // a new name: nothing of the old image survives
    auto s = k.snapshot();
    REQUIRE(app_processes(s) == 1);
    for (const auto& p : s.processes)
        if (p.channel_state != "diagnostics") CHECK(p.pid == a->pid());
}
