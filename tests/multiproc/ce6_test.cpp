// The CE 6 personality across processes (docs/semantics/handles.md §9): `cekernel --personality
// ce6`, real ce_child programs. A handle value is its process's alone, DuplicateHandle hands one
// to another process, ids are apart from handles, and a killed process's table closes.
#include <catch2/catch.hpp>
#include <signal.h>

#include <cstdlib>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

const std::vector<std::string> kCe6 = {"--personality", "ce6"};

uint32_t hex_of(const std::string& s) {
    return static_cast<uint32_t>(std::strtoul(s.c_str(), nullptr, 16));
}

}  // namespace

TEST_CASE("ce6: a value is its process's alone; DuplicateHandle gives another process one",
          "[multiproc][ce6]") {
    KernelFixture k(kCe6);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string event = a->ask("event - 1 0");
    REQUIRE(field(event, 0) == "ok");
    const std::string h = field(event, 1);
    CHECK(b->ask("set " + h) == "fail 6");  // nothing in b's table has that value
    std::string b_ids = b->ask("ids");
    REQUIRE(field(b_ids, 0) == "ok");
    std::string to_b = a->ask("openproc " + field(b_ids, 1));
    REQUIRE(field(to_b, 0) == "ok");
    std::string copy = a->ask("dupto " + h + " " + field(to_b, 1) + " 2");
    REQUIRE(field(copy, 0) == "ok");
    CHECK(b->ask("set " + field(copy, 1)) == "ok");
    CHECK(a->ask("wait 0 " + h) == "ok 0x0");  // the same event, signalled through b's value
    CHECK(a->ask("set " + h) == "ok");         // a's own value is untouched
    // cedump shows the personality and each process's table, one after the other.
    Child dump({program("CEK_CEDUMP"), "handles"}, k.client_env());
    std::string text;
    while (auto line = dump.read_line(std::chrono::seconds(10))) text += *line + "\n";
    REQUIRE(dump.wait(std::chrono::seconds(10)));
    CHECK(text.find("personality ce6") != std::string::npos);
    CHECK(text.find(std::to_string(a->pid())) < text.find(std::to_string(b->pid()) + ":"));
}

TEST_CASE("ce6: ids are even and apart from handles; GetThreadId and friends answer them",
          "[multiproc][ce6][ids]") {
    KernelFixture k(kCe6);
    auto a = k.spawn_child();
    std::string ids = a->ask("ids");
    REQUIRE(field(ids, 0) == "ok");
    const uint32_t process = hex_of(field(ids, 1));
    const uint32_t thread = hex_of(field(ids, 2));
    CHECK(process % 2 == 0);
    CHECK(thread % 2 == 0);
    CHECK(field(ids, 3) == field(ids, 2));  // GetThreadId(GetCurrentThread())
    CHECK(field(ids, 4) == field(ids, 1));  // GetProcessId(GetCurrentProcess())
    CHECK(field(ids, 5) == "0x6");          // GetVersionEx: CE 6
    std::string t = a->ask("threadids");
    REQUIRE(field(t, 0) == "ok");
    CHECK(hex_of(field(t, 1)) % 2 == 1);  // the handle is odd
    CHECK(field(t, 2) != field(t, 1));    // and not the id
    CHECK(field(t, 3) == field(t, 2));    // GetThreadId(handle) is the id CreateThread gave
    CHECK(field(t, 4) == field(ids, 1));  // GetProcessIdOfThread
    // Another process opens this one and its thread by id.
    auto b = k.spawn_child();
    std::string opened = b->ask("openthread " + field(ids, 2));
    REQUIRE(field(opened, 0) == "ok");
    CHECK(b->ask("openproc " + field(ids, 1)).rfind("ok ", 0) == 0);
    CHECK(b->ask("openthread 0x3") == "fail 87");  // odd: never an id
}

TEST_CASE("ce5: GetThreadId and friends are not there; ids are the handle values",
          "[multiproc][ce6][ids]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string ids = a->ask("ids");
    REQUIRE(field(ids, 0) == "ok");
    CHECK(field(ids, 3) == "fail120");  // ERROR_CALL_NOT_IMPLEMENTED
    CHECK(field(ids, 4) == "fail120");
    CHECK(field(ids, 5) == "0x5");
    std::string t = a->ask("threadids");
    REQUIRE(field(t, 0) == "ok");
    CHECK(field(t, 1) == field(t, 2));  // CE 5: the id is the handle value
}

TEST_CASE("ce6: every open of a name is a new value; a killed process's handles close",
          "[multiproc][ce6][names]") {
    KernelFixture k(kCe6);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string first = a->ask("event lamp 1 0");
    std::string second = a->ask("event lamp 1 0");
    REQUIRE(field(first, 0) == "ok");
    REQUIRE(field(second, 0) == "ok");
    CHECK(field(second, 2) == "183");  // ERROR_ALREADY_EXISTS
    CHECK(field(first, 1) != field(second, 1));
    std::string opened = b->ask("openevent lamp");
    REQUIRE(field(opened, 0) == "ok");
    // a dies holding two handles: b's keeps the name; once b closes it, the name is gone.
    a->kill(SIGKILL);
    REQUIRE(a->wait(std::chrono::seconds(10)).has_value());
    REQUIRE(k.wait_for([](const cek::proto::Snapshot& s) { return app_processes(s) == 1; }));
    std::string again = b->ask("openevent lamp");
    REQUIRE(field(again, 0) == "ok");
    CHECK(b->ask("close " + field(opened, 1)).rfind("ok", 0) == 0);
    CHECK(b->ask("close " + field(again, 1)).rfind("ok", 0) == 0);
    CHECK(b->ask("openevent lamp") == "fail 2");  // ERROR_FILE_NOT_FOUND: the name went
}

TEST_CASE("ce6: the shim's rules: TLS slots, CreateThread(NULL), GetExitCodeThread's last error",
          "[multiproc][ce6][threads]") {
    KernelFixture k(kCe6);
    auto a = k.spawn_child();
    CHECK(a->ask("tlsfree 2") == "fail 87");    // reserved
    CHECK(a->ask("tlsfree 40") == "fail 87");   // not allocated
    CHECK(a->ask("tlsfree 64") == "fail 87");   // out of range
    std::string slot = a->ask("tlsalloc");
    REQUIRE(field(slot, 0) == "ok");
    CHECK(a->ask("tlsfree " + field(slot, 1)) == "ok keep");
    CHECK(a->ask("tlsfree " + field(slot, 1)) == "fail 87");  // freed already
    CHECK(a->ask("tlsfill") == "ok 60 87");  // slots 4-63, then ERROR_INVALID_PARAMETER
    CHECK(a->ask("nullthread") == "fail 87");
    std::string t = a->ask("thread");
    REQUIRE(field(t, 0) == "ok");
    CHECK(a->ask("exitcodele " + field(t, 1)) == "ok 0x103 0");  // STILL_ACTIVE, last error 0
    CHECK(a->ask("set " + field(t, 2)) == "ok");
    CHECK(a->ask("wait 10000 " + field(t, 1)) == "ok 0x0");
}

TEST_CASE("ce5: the same calls keep CE 5's rules", "[multiproc][ce6][threads]") {
    KernelFixture k;
    auto a = k.spawn_child();
    CHECK(a->ask("tlsfree 2") == "ok keep");   // any slot below 64 succeeds
    CHECK(a->ask("tlsfree 40") == "ok keep");
    CHECK(a->ask("tlsfree 64") == "fail keep");
    CHECK(a->ask("tlsfill") == "ok 60 keep");  // the full TlsAlloc leaves the last error
    std::string t = a->ask("thread");
    REQUIRE(field(t, 0) == "ok");
    CHECK(a->ask("exitcodele " + field(t, 1)) == "ok 0x103 keep");
    CHECK(a->ask("set " + field(t, 2)) == "ok");
    CHECK(a->ask("wait 10000 " + field(t, 1)) == "ok 0x0");
}
