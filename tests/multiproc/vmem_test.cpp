// Huge reservations (docs/semantics/vmem.md): VirtualAlloc(NULL, >= 2 MiB, MEM_RESERVE,
// PAGE_NOACCESS) takes a range of the shared window from the kernel, unique across processes,
// released only by its owner or by the kernel when the owner dies (kill -9 included).
// CE 5 rows: CE 6 has no huge path (tests/multiproc/ce6_test.cpp).
#include <catch2/catch.hpp>

#include <signal.h>

#include <cstdlib>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {
uint64_t number(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 16); }
const std::string kHuge = "valloc 0 0x400000 0x2000 1";  // 4 MiB, MEM_RESERVE, PAGE_NOACCESS
}  // namespace

TEST_CASE("a huge reservation lies in the shared window, commits in place, and only its owner "
          "releases it", "[multiproc][vmem][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string got = a->ask(kHuge);
    REQUIRE(field(got, 0) == "ok");
    const std::string base = field(got, 1);
    CHECK(number(base) % (2 << 20) == 0);
    CHECK(number(base) >= 0x200000000000ULL);  // the window, far above any 32 MiB slot
    CHECK(a->ask("vquery " + base) ==
          "ok 0x2000 0x0 0x20000 0x400000 " + base);  // MEM_RESERVE, MEM_PRIVATE, whole range
    // Commit a page in the middle, use it, and see it in VirtualQuery.
    const std::string page = "0x" + [&] {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(number(base) + 0x10000));
        return std::string(buf);
    }();
    REQUIRE(a->ask("valloc " + page + " 0x1000 0x1000 4") == "ok " + page);
    REQUIRE(a->ask("write " + page + " hello") == "ok");
    CHECK(a->ask("read " + page + " 5") == "ok hello");
    CHECK(a->ask("vquery " + page) == "ok 0x1000 0x4 0x20000 0x1000 " + base);
    // Another process gets a range of its own and cannot release a's.
    std::string other = b->ask(kHuge);
    REQUIRE(field(other, 0) == "ok");
    CHECK(field(other, 1) != base);
    CHECK(b->ask("vfree " + base + " 0 0x8000") == "fail 87");
    // The owner's refusals: not the base, a size.
    CHECK(a->ask("vfree " + page + " 0 0x8000") == "fail 87");
    CHECK(a->ask("vfree " + base + " 0x1000 0x8000") == "fail 87");
    // No single-state rule for huge reservations: partly committed is released whole.
    CHECK(a->ask("vfree " + base + " 0 0x8000") == "ok");
    CHECK(field(a->ask("vquery " + page), 1) == "0x10000");  // MEM_FREE
    CHECK(b->ask("vfree " + field(other, 1) + " 0 0x8000") == "ok");
}

TEST_CASE("huge reservations fail with ERROR_OUTOFMEMORY; other shapes stay in the slot",
          "[multiproc][vmem][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    // More than CE 5's whole mapper region.
    CHECK(a->ask("valloc 0 0x40000000 0x2000 1") == "fail 14");
    // 32 MiB or more in any other shape is invalid; below that it is a slot reservation.
    CHECK(a->ask("valloc 0 0x2000000 0x2000 4") == "fail 87");
    std::string slot = a->ask("valloc 0 0x200000 0x2000 4");
    REQUIRE(field(slot, 0) == "ok");
    const uint64_t at = number(field(slot, 1));
    CHECK((at < 0x200000000000ULL || at >= 0x200000000000ULL + (64ULL << 30)));  // not the window
    CHECK(a->ask("vfree " + field(slot, 1) + " 0 0x8000") == "ok");
}

TEST_CASE("the kernel releases the huge reservations of a process killed with SIGKILL",
          "[multiproc][vmem][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    std::string got = a->ask(kHuge);
    REQUIRE(field(got, 0) == "ok");
    const std::string base = field(got, 1);
    const int pid = a->pid();
    // The kernel's snapshot (what cedump shows) counts the reservation on its process.
    bool counted = false;
    for (const auto& p : k.snapshot().processes) counted = counted || (p.pid == pid && p.huge_bytes == (4 << 20));
    CHECK(counted);
    a->kill(SIGKILL);
    REQUIRE(a->wait());
    REQUIRE(k.wait_for([pid](const cek::proto::Snapshot& s) { return process_id_of(s, pid) == 0; }));
    // First fit: with a's range back in the window, the next reservation gets that address.
    auto b = k.spawn_child();
    std::string again = b->ask(kHuge);
    REQUIRE(field(again, 0) == "ok");
    CHECK(field(again, 1) == base);
    // And while b holds it, the next one is elsewhere.
    std::string next = b->ask(kHuge);
    REQUIRE(field(next, 0) == "ok");
    CHECK(field(next, 1) != base);
}
