// The CE 6 personality across processes (docs/semantics/handles.md §9): `cekernel --personality
// ce6`, real ce_child programs. A handle value is its process's alone, DuplicateHandle hands one
// to another process, ids are apart from handles, and a killed process's table closes.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {


uint32_t hex_of(const std::string& s) {
    return static_cast<uint32_t>(std::strtoul(s.c_str(), nullptr, 16));
}

// An address a child printed, moved by `delta`, as a child reads it.
std::string plus(const std::string& address, int64_t delta) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx",
                  static_cast<unsigned long long>(std::strtoull(address.c_str(), nullptr, 16) + delta));
    return buf;
}

}  // namespace

TEST_CASE("ce6: a value is its process's alone; DuplicateHandle gives another process one",
          "[multiproc][ce6]") {
    KernelFixture k(kCe6Kernel);
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
    KernelFixture k(kCe6Kernel);
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
          "[multiproc][ce5][ids]") {
    KernelFixture k(kCe5Kernel);
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
    KernelFixture k(kCe6Kernel);
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
    KernelFixture k(kCe6Kernel);
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

TEST_CASE("ce5: the same calls keep CE 5's rules", "[multiproc][ce5][threads]") {
    KernelFixture k(kCe5Kernel);
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

// TerminateProcess (processes.md §4): a live process, one that has ended, and the caller itself
// through a handle of its own (CE 6: TRUE, which the caller does not live to see).
TEST_CASE("ce6: TerminateProcess of another, of an ended one, and of oneself",
          "[multiproc][ce6][processes]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    auto c = k.spawn_child();
    const std::string a_id = field(a->ask("ids"), 1);
    const std::string c_id = field(c->ask("ids"), 1);
    std::string to_a = b->ask("openproc " + a_id);
    std::string to_c = b->ask("openproc " + c_id);
    REQUIRE(field(to_a, 0) == "ok");
    REQUIRE(field(to_c, 0) == "ok");
    CHECK(b->ask("terminate " + field(to_a, 1) + " 0x2a") == "ok");
    CHECK(b->ask("wait 10000 " + field(to_a, 1)) == "ok 0x0");
    CHECK(b->ask("pexitcode " + field(to_a, 1)) == "ok 0x2a");
    CHECK(b->ask("terminate " + field(to_a, 1) + " 1") == "fail 6");  // ERROR_INVALID_HANDLE
    CHECK(b->ask("pexitcode " + field(to_a, 1)) == "ok 0x2a");       // the first code stays
    // c opens itself by id (a handle value, not the pseudo-handle) and terminates through it.
    std::string self = c->ask("openproc " + c_id);
    REQUIRE(field(self, 0) == "ok");
    CHECK(c->ask("terminate " + field(self, 1) + " 0x11") == "");  // no answer: it has ended
    auto status = c->wait(std::chrono::seconds(10));
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0x11);
    CHECK(b->ask("wait 10000 " + field(to_c, 1)) == "ok 0x0");
    CHECK(b->ask("pexitcode " + field(to_c, 1)) == "ok 0x11");
}

TEST_CASE("ce5: TerminateProcess of an ended process is ERROR_ACCESS_DENIED; of oneself it ends "
          "the caller", "[multiproc][ce5][processes]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string a_id = field(a->ask("ids"), 1);
    // CE 5: the id is the handle; b's reference keeps the object once a is gone.
    REQUIRE(b->ask("openproc " + a_id) == "ok " + a_id);
    CHECK(b->ask("terminate " + a_id + " 0x2a") == "ok");
    CHECK(b->ask("wait 10000 " + a_id) == "ok 0x0");
    CHECK(b->ask("terminate " + a_id + " 1") == "fail 5");
    CHECK(b->ask("pexitcode " + a_id) == "ok 0x2a");
    CHECK(b->ask("terminate 0x42 0x12") == "");  // GetCurrentProcess(): ends, FALSE unseen
    auto status = b->wait(std::chrono::seconds(10));
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0x12);
}

// Virtual memory (vmem.md §6): CE 6's 1 GiB for VirtualAlloc and its checks, against CE 5's
// answers to the same calls. Each process first talks to the kernel ("ids"): before that the
// shim knows no personality and keeps CE 5's rules.
TEST_CASE("ce6: VirtualAlloc beyond 32 MB, CE 6's checks, MEM_RELEASE and VirtualProtect rules",
          "[multiproc][ce6][vmem]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    REQUIRE(field(a->ask("ids"), 0) == "ok");
    // 64 MiB committed: more than CE 5's whole slot.
    std::string big = a->ask("valloc 0 0x4000000 0x3000 4");
    REQUIRE(field(big, 0) == "ok");
    const std::string last = plus(field(big, 1), 0x3FFF000);
    CHECK(a->ask("write " + last + " tail") == "ok");
    CHECK(a->ask("read " + last + " 4") == "ok tail");
    CHECK(a->ask("vfree " + field(big, 1) + " 0 0x8000") == "ok");
    // No huge path: a 2 MiB NOACCESS reservation is an ordinary one, in the same space.
    std::string huge = a->ask("valloc 0 0x200000 0x2000 1");
    REQUIRE(field(huge, 0) == "ok");
    CHECK(a->ask("vfree " + field(huge, 1) + " 0 0x8000") == "ok");
    // The checks: types (MEM_MAPPED, unknown bits, none), sizes, protections.
    CHECK(a->ask("valloc 0 0x10000 0x41000 4") == "fail 87");   // MEM_COMMIT | MEM_MAPPED
    CHECK(a->ask("valloc 0 0x10000 0x80000 4") == "fail 87");   // MEM_RESET
    CHECK(a->ask("valloc 0 0x10000 0 4") == "fail 87");
    CHECK(a->ask("valloc 0 0 0x3000 4") == "fail 87");
    CHECK(a->ask("valloc 0 0x80000000 0x3000 4") == "fail 87");  // negative as CE's DWORD
    CHECK(a->ask("valloc 0 0x10000 0x3000 8") == "fail 87");    // PAGE_WRITECOPY
    CHECK(a->ask("valloc 0 0x50000000 0x2000 1") == "fail 8");  // more than the space holds
    // MEM_AUTO_COMMIT: usable at once.
    std::string autoc = a->ask("valloc 0 0x10000 0x200000 4");
    REQUIRE(field(autoc, 0) == "ok");
    CHECK(a->ask("write " + field(autoc, 1) + " auto") == "ok");
    CHECK(a->ask("vfree " + field(autoc, 1) + " 0 0x8000") == "ok");
    // A partly committed reservation is released whole; the freed range is MEM_PRIVATE.
    std::string r = a->ask("valloc 0 0x20000 0x2000 1");
    REQUIRE(field(r, 0) == "ok");
    CHECK(a->ask("valloc " + field(r, 1) + " 0x1000 0x1000 4") == "ok " + field(r, 1));
    CHECK(a->ask("vprotect " + field(r, 1) + " 0x1000 2 null") == "ok 0x0");  // NULL old: fine
    CHECK(a->ask("vprotect " + field(r, 1) + " 0x1000 8") == "fail 87");      // WRITECOPY
    CHECK(a->ask("vfree " + field(r, 1) + " 0 0x8000") == "ok");
    CHECK(a->ask("vquery " + field(r, 1)).rfind("ok 0x10000 0x0 0x20000 ", 0) == 0);
    CHECK(a->ask("vquery 0xf000") == "fail 87");  // below 0x10000
}

TEST_CASE("ce5: the same VirtualAlloc calls keep CE 5's rules", "[multiproc][ce5][vmem]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    REQUIRE(field(a->ask("ids"), 0) == "ok");
    CHECK(a->ask("valloc 0 0x4000000 0x3000 4") == "fail 87");  // 32 MB and more
    CHECK(a->ask("valloc 0 0x10000 0x3000 8") == "fail 87");
    std::string r = a->ask("valloc 0 0x20000 0x2000 1");
    REQUIRE(field(r, 0) == "ok");
    CHECK(a->ask("valloc " + field(r, 1) + " 0x1000 0x1000 4") == "ok " + field(r, 1));
    CHECK(a->ask("vprotect " + field(r, 1) + " 0x1000 2 null") == "fail 87");
    CHECK(a->ask("vprotect " + field(r, 1) + " 0x1000 8") == "fail 50");  // ERROR_NOT_SUPPORTED
    CHECK(a->ask("vfree " + field(r, 1) + " 0 0x8000") == "fail 87");  // partly committed
    CHECK(a->ask("vfree " + field(r, 1) + " 0x1000 0x4000") == "ok");  // decommit first
    CHECK(a->ask("vfree " + field(r, 1) + " 0 0x8000") == "ok");
    CHECK(a->ask("vquery " + field(r, 1)).rfind("ok 0x10000 0x0 0x0 ", 0) == 0);  // Type 0
}

// OpenMsgQueue (ce-kernel-objects.md §5.4): under CE 6 the queue handle is a value of the source
// process's own table, and the source a process handle of the caller's (an id is not one).
TEST_CASE("ce6: OpenMsgQueue reads the queue value in the source process's table",
          "[multiproc][ce6][msgqueue]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string a_id = field(a->ask("ids"), 1);
    std::string writer = a->ask("mq - 0 8 64 0");  // unnamed, a's writer end
    REQUIRE(field(writer, 0) == "ok");
    const std::string w = field(writer, 1);
    std::string to_a = b->ask("openproc " + a_id);
    REQUIRE(field(to_a, 0) == "ok");
    CHECK(b->ask("mqopen self " + w + " 1") == "fail 87");  // no queue of that value in b
    CHECK(b->ask("mqopen " + a_id + " " + w + " 1") == "fail 6");  // an id, not a handle
    std::string reader = b->ask("mqopen " + field(to_a, 1) + " " + w + " 1");
    REQUIRE(field(reader, 0) == "ok");
    CHECK(field(reader, 2) == "0");
    CHECK(a->ask("mqwrite " + w + " 0 0 hello") == "ok 0");
    CHECK(b->ask("mqread " + field(reader, 1) + " 10000 64") == "ok hello 0x0 0");
    CHECK(b->ask("mqinfo " + field(reader, 1)) == "ok 0x0 8 64 0 1 1 1");
}

namespace {
// A 12 KiB file mapped read-write by `a`, with a view of its middle page; returns the view.
std::string middle_view(Child& a, const std::string& file) {
    // CreateFileForMappingW: the handle both personalities map (CE 5 takes no other).
    std::string f = a.ask("cffm " + file + " 0xC0000000 0 2");  // CREATE_ALWAYS
    REQUIRE(field(f, 0) == "ok");
    std::string m = a.ask("fmap " + field(f, 1) + " 4 0x3000");
    REQUIRE(field(m, 0) == "ok");
    std::string v = a.ask("map " + field(m, 1) + " 2 0x1000 0x1000");
    REQUIRE(field(v, 0) == "ok");
    REQUIRE(a.ask("write " + field(v, 1) + " hello") == "ok");
    return field(v, 1);
}
}  // namespace

// FlushViewOfFile (mappings.md §5): CE 6 flushes only inside the caller's own views.
TEST_CASE("ce6: FlushViewOfFile works only inside the caller's views; unmap writes back",
          "[multiproc][ce6][mapping]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string v = middle_view(*a, "\\f6.bin");
    CHECK(a->ask("flush " + v + " 0") == "ok keep");  // to the end of the view
    CHECK(a->ask("flush " + plus(v, 100) + " 16") == "ok keep");
    CHECK(a->ask("flush " + plus(v, 0x1000) + " 1") == "fail 87");  // past the view
    CHECK(a->ask("flush " + plus(v, -0x1000) + " 1") == "fail 87");  // the mapping, no view
    CHECK(a->ask("flush " + plus(v, 0xF00) + " 0x200") == "fail 87");  // runs out of the view
    CHECK(b->ask("flush " + v + " 1") == "fail 87");  // b has no view at all
    CHECK(a->ask("unmap " + v) == "ok keep");
    CHECK(a->ask("flush " + v + " 1") == "fail 87");  // gone with the view
}

TEST_CASE("ce5: FlushViewOfFile takes any address of any mapping, from any process",
          "[multiproc][ce5][mapping]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string v = middle_view(*a, "\\f5.bin");
    CHECK(a->ask("flush " + v + " 0") == "ok keep");
    CHECK(a->ask("flush " + plus(v, -0x1000) + " 1") == "ok keep");  // in the mapping
    CHECK(b->ask("flush " + v + " 1") == "ok keep");
    CHECK(a->ask("unmap " + v) == "ok keep");
}

namespace {
uint64_t address_of(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 16); }

// A named read-write mapping of 0x30000 bytes of a new file, made by `a`: its handle.
std::string views_mapping(Child& a, const std::string& name) {
    const std::string file = field(a.ask("cffm /Temp/" + name + ".bin 0xC0000000 0 4"), 1);
    const std::string map = a.ask("fmap " + file + " 4 0x30000 " + name);
    REQUIRE(field(map, 0) == "ok");
    return field(map, 1);
}
}  // namespace

// MapViewOfFile (mappings.md §3): CE 6 gives each file view its own place in its own process.
TEST_CASE("ce6: a file view has its own address from the 64 KiB-aligned offset, its own "
          "protection and only its pages; an identical view is reused with ERROR_ALREADY_EXISTS",
          "[multiproc][ce6][mapping][views]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = spawn_child_that_may_fault(k);
    auto c = spawn_child_that_may_fault(k);
    const std::string m = views_mapping(*a, "views6");
    const std::string v = a->ask("map " + m + " 0xF001F 0x12345 0x100");
    REQUIRE(field(v, 0) == "ok");
    CHECK(field(v, 2) == "keep");
    const std::string view = field(v, 1);
    CHECK((address_of(view) & 0xFFFF) == 0x2345);
    REQUIRE(a->ask("write " + view + " marker") == "ok");
    // The same view again is the same one; a read view of the same bytes is another.
    CHECK(a->ask("map " + m + " 0xF001F 0x12345 0x100") == "ok " + view + " 183");
    const std::string read_view = field(a->ask("map " + m + " 4 0x12345 0x100"), 1);
    CHECK(read_view != view);
    CHECK(a->ask("read " + read_view + " 6") == "ok marker");

    // Another process: its own address for the same view, the same pages.
    const std::string opened = b->ask("create views6 0 4");
    REQUIRE(field(opened, 0) == "ok");
    const std::string bv = field(b->ask("map " + field(opened, 1) + " 4 0x12345 0x100"), 1);
    CHECK(bv != view);
    CHECK((address_of(bv) & 0xFFFF) == 0x2345);
    CHECK(b->ask("read " + bv + " 6") == "ok marker");
    REQUIRE(a->ask("write " + view + " second") == "ok");
    CHECK(b->ask("read " + bv + " 6") == "ok second");
    // A read view is read-only, even of a read-write mapping.
    expect_segv(*b, "write " + bv + " x");
    // A view maps its own pages only (0x2345 + 0x100 bytes: three pages), and a process without
    // a view reaches nothing by address.
    const std::string cv = field(c->ask("map " + field(c->ask("create views6 0 4"), 1) +
                                        " 4 0x12345 0x100"),
                                 1);
    CHECK(c->ask("read " + plus(cv, 0x3000 - 0x2345 - 1) + " 1").rfind("ok", 0) == 0);
    expect_segv(*c, "read " + plus(cv, 0x3000 - 0x2345) + " 1");
    auto d = spawn_child_that_may_fault(k);
    expect_segv(*d, "read " + view + " 1");
    // Two uses of one view need two unmaps.
    CHECK(a->ask("unmap " + view) == "ok keep");
    CHECK(a->ask("read " + view + " 6") == "ok second");
    CHECK(a->ask("unmap " + view) == "ok keep");
    CHECK(a->ask("unmap " + view) == "fail 87");
    // Mapped again after its process had no view of the mapping left: the range it still holds
    // comes back (no descriptor is sent), and its unmap still writes it back.
    CHECK(a->ask("unmap " + read_view) == "ok keep");
    CHECK(a->ask("map " + m + " 0xF001F 0x12345 0x100") == "ok " + view + " keep");
    REQUIRE(a->ask("write " + view + " thirdx") == "ok");
    CHECK(a->ask("unmap " + view) == "ok keep");
    CHECK(host_file(k, "Temp/views6.bin").substr(0x12345, 6) == "thirdx");
}

TEST_CASE("ce5: every view of a mapping is base + offset in every process, with the mapping's "
          "protection",
          "[multiproc][ce5][mapping][views]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string m = views_mapping(*a, "views5");
    const std::string base = field(a->ask("map " + m + " 0xF001F 0 0"), 1);
    const std::string view = plus(base, 0x12345);
    CHECK(a->ask("map " + m + " 0xF001F 0x12345 0x100") == "ok " + view + " keep");
    CHECK(a->ask("map " + m + " 0xF001F 0x12345 0x100") == "ok " + view + " keep");
    CHECK(a->ask("map " + m + " 4 0x12345 0x100") == "ok " + view + " keep");
    const std::string opened = b->ask("create views5 0 4");
    REQUIRE(field(opened, 0) == "ok");
    CHECK(b->ask("map " + field(opened, 1) + " 4 0x12345 0x100") == "ok " + view + " keep");
    // A read view of a read-write mapping writes (CE 5's protection is the mapping's).
    REQUIRE(b->ask("write " + view + " third") == "ok");
    CHECK(a->ask("read " + view + " 5") == "ok third");
    // Each MapViewOfFile call is a view of its own: three unmaps of the same address.
    for (int i = 0; i < 3; ++i) CHECK(a->ask("unmap " + view) == "ok keep");
    CHECK(a->ask("unmap " + view) == "fail 487");
}

namespace {
size_t open_descriptors(const std::string& pid) {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + pid + "/fd"))
        ++n;
    return n;
}
}  // namespace

TEST_CASE("ce6: views made and unmapped in turn, of one mapping and of mappings made anew, all "
          "map and leave no descriptor behind",
          "[multiproc][ce6][mapping][views]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    const std::string pid = field(a->ask("pid"), 1);
    const std::string file = field(a->ask("cffm /Temp/cycle6.bin 0xC0000000 0 4"), 1);
    auto cycle = [&](const std::string& mapping) {
        // A view, unmapped; then other views of the same mapping, which may get the same range.
        const std::string v = field(a->ask("map " + mapping + " 2 0 0x1000"), 1);
        REQUIRE(a->ask("write " + v + " cycle") == "ok");
        REQUIRE(a->ask("unmap " + v) == "ok keep");
        const std::string r = a->ask("map " + mapping + " 4 0x1000 0x2000");
        REQUIRE(field(r, 0) == "ok");
        REQUIRE(a->ask("unmap " + field(r, 1)) == "ok keep");
        const std::string again = a->ask("map " + mapping + " 4 0 0x800");
        REQUIRE(field(again, 0) == "ok");
        CHECK(a->ask("read " + field(again, 1) + " 5") == "ok cycle");
        REQUIRE(a->ask("unmap " + field(again, 1)) == "ok keep");
    };
    const std::string kept = field(a->ask("fmap " + file + " 4 0x4000"), 1);
    cycle(kept);
    auto fresh = [&] {  // a mapping made, viewed and closed
        const std::string m = field(a->ask("fmap " + file + " 4 0x4000"), 1);
        cycle(m);
        REQUIRE(a->ask("close " + m) == "ok keep");
    };
    fresh();
    const size_t before = open_descriptors(pid);
    for (int i = 0; i < 20; ++i) fresh();
    cycle(kept);
    CHECK(open_descriptors(pid) <= before);
}

TEST_CASE("ce6: a RAM-backed view opens only its pages, with its protection; views over the same "
          "pages merge, read-write while one of them is",
          "[multiproc][ce6][mapping][views]") {
    KernelFixture k(kCe6Kernel);
    auto a = spawn_child_that_may_fault(k);
    auto b = k.spawn_child();
    const std::string m = field(a->ask("create ram6 0x20000 4"), 1);  // 128 KiB, read-write
    // A read-write view and a read view of the same page: one address, merged read-write.
    const std::string v = field(a->ask("map " + m + " 2 0x10000 0x1000"), 1);
    REQUIRE(a->ask("write " + v + " hello") == "ok");
    CHECK(field(a->ask("map " + m + " 4 0x10000 0x1000"), 1) == v);
    REQUIRE(a->ask("write " + v + " again") == "ok");
    // The read-write view goes (the first made at the address): the page is read-only now.
    CHECK(field(a->ask("unmap " + v), 0) == "ok");
    CHECK(a->ask("read " + v + " 5") == "ok again");
    // Another process's read-write view of the same page is its own: it writes, a reads it.
    const std::string opened = field(b->ask("create ram6 0 4"), 1);
    CHECK(field(b->ask("map " + opened + " 2 0x10000 0x1000"), 1) == v);
    REQUIRE(b->ask("write " + v + " fromb") == "ok");
    CHECK(a->ask("read " + v + " 5") == "ok fromb");
    // b's last view goes and its range lingers; a read view brings the range back.
    CHECK(field(b->ask("unmap " + v), 0) == "ok");
    CHECK(field(b->ask("map " + opened + " 4 0x10000 0x1000"), 1) == v);
    CHECK(b->ask("read " + v + " 5") == "ok fromb");
    expect_segv(*a, "write " + v + " nope");

    // A page of the mapping that no view of the process covers is no access at all.
    auto c = spawn_child_that_may_fault(k);
    const std::string mc = field(c->ask("create ram6 0 4"), 1);
    const std::string first = field(c->ask("map " + mc + " 4 0 0x1000"), 1);
    CHECK(c->ask("read " + first + " 5") == std::string("ok ") + std::string(5, '\0'));
    expect_segv(*c, "read " + plus(first, 0x8000) + " 1");
}
