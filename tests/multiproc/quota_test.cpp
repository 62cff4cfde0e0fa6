// Fair shares between host processes (issue 16, findings 4 and 5; docs/semantics/handles.md §6):
// one host process opening many connections (tests/helpers/hostile, raw protocol) gets at most
// max_connections_per_host of them, and all of them together one handle quota, so a neighbour
// process keeps creating handles. Afterwards the kernel holds nothing of either.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

std::unique_ptr<Child> spawn_flooder(KernelFixture& k) {
    auto h =
        std::make_unique<Child>(std::vector<std::string>{program("CEK_HOSTILE")}, k.client_env());
    REQUIRE(h->ask("ping") == "ok");
    return h;
}

// A well-behaved ce_child that makes, uses and closes a named event.
bool neighbour_gets_handles(Child& n) {
    std::string made = n.ask("event quota-neighbour 0 0");
    if (field(made, 0) != "ok") return false;
    return field(n.ask("close " + field(made, 1)), 0) == "ok";
}

}  // namespace

TEST_CASE("one host process gets 8 connections and one handle quota for all of them",
          "[multiproc][hostile][quota]") {
    KernelFixture k;
    auto neighbour = k.spawn_child();
    REQUIRE(neighbour_gets_handles(*neighbour));
    auto h = spawn_flooder(k);
    // The ninth connection is refused with a clear status (HelloStatus::TooManyProcesses).
    CHECK(h->ask("conns 20") == "ok 8 status 3");
    const int pid = h->pid();
    CHECK(k.wait_for([&](const cek::proto::Snapshot& s) {
        return std::count_if(s.processes.begin(), s.processes.end(),
                             [&](const auto& p) { return p.pid == pid; }) == 8;
    }));
    // 65,536 handles for the host process, however they are spread over its connections, then
    // the personality's error for a full handle list (CE 5: ERROR_NOT_ENOUGH_MEMORY, CE 6:
    // ERROR_NO_MORE_USER_HANDLES).
    CHECK(h->ask("conns-fill", 120s) == (k.ce5() ? "ok 65536 8" : "ok 65536 1158"));
    // The neighbour goes on creating handles.
    CHECK(neighbour_gets_handles(*neighbour));
    // Once they hang up, the host process may connect again (a hang-up not read yet does not
    // count), and its quota is whole again.
    REQUIRE(h->ask("conns-drop") == "ok");
    CHECK(h->ask("conns 1") == "ok 1 none");
    CHECK(h->ask("conns-drop") == "ok");
    h->close_stdin();
    REQUIRE(h->wait(30s));
    neighbour->close_stdin();
    REQUIRE(neighbour->wait(10s));
    CHECK(k.wait_for([](const cek::proto::Snapshot& s) {
        return app_processes(s) == 0 && s.handles.empty() && s.objects.empty();
    }));
}
