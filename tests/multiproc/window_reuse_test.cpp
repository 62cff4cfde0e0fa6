// The client's window keeps a small released range mapped PROT_NONE for a while (see
// coredll/client/window.h): mapping it again must show the mapping's current pages, a range the
// kernel gives to another mapping must show that mapping's pages, and a freed mapping must stay
// inaccessible.
#include <catch2/catch.hpp>

#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

TEST_CASE("a view mapped again after the last unmap shows what was written meanwhile",
          "[multiproc][mapping][window]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string created = a->ask("create reuse-1 65536 4");
    REQUIRE(field(created, 0) == "ok");
    const std::string handle = field(created, 1);
    std::string view = a->ask("map " + handle + " 0xF001F 0 0");
    REQUIRE(field(view, 0) == "ok");
    REQUIRE(a->ask("write " + field(view, 1) + " first") == "ok");
    REQUIRE(field(a->ask("unmap " + field(view, 1)), 0) == "ok");

    // Another process writes while `a` has no view.
    std::string opened = b->ask("create reuse-1 0 4");
    REQUIRE(field(opened, 0) == "ok");
    std::string view_b = b->ask("map " + field(opened, 1) + " 0xF001F 0 0");
    REQUIRE(field(view_b, 0) == "ok");
    REQUIRE(b->ask("write " + field(view_b, 1) + " other") == "ok");

    std::string again = a->ask("map " + handle + " 0xF001F 0 0");
    REQUIRE(field(again, 0) == "ok");
    CHECK(field(again, 1) == field(view, 1));
    CHECK(a->ask("read " + field(again, 1) + " 5") == "ok other");
    REQUIRE(a->ask("write " + field(again, 1) + " third") == "ok");
    CHECK(b->ask("read " + field(view_b, 1) + " 5") == "ok third");
}

TEST_CASE("a range the kernel reuses for a new mapping shows the new mapping's pages",
          "[multiproc][mapping][window]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string first = a->ask("create reuse-old 65536 4");
    REQUIRE(field(first, 0) == "ok");
    std::string view = a->ask("map " + field(first, 1) + " 0xF001F 0 0");
    REQUIRE(field(view, 0) == "ok");
    REQUIRE(a->ask("fill " + field(view, 1) + " 65536 171") == "ok");
    REQUIRE(field(a->ask("unmap " + field(view, 1)), 0) == "ok");
    REQUIRE(field(a->ask("close " + field(first, 1)), 0) == "ok");  // the mapping and its range end

    std::string second = a->ask("create reuse-new 65536 4");
    REQUIRE(field(second, 0) == "ok");
    std::string view2 = a->ask("map " + field(second, 1) + " 0xF001F 0 0");
    REQUIRE(field(view2, 0) == "ok");
    // First fit gives the freed range back; the test means nothing if it does not.
    REQUIRE(field(view2, 1) == field(view, 1));
    CHECK(a->ask("check " + field(view2, 1) + " 65536 0") == "ok");
}

TEST_CASE("a freed mapping is inaccessible even while its range lingers",
          "[multiproc][mapping][window]") {
    KernelFixture k;
    auto a = spawn_child_that_may_fault(k);
    std::string created = a->ask("create reuse-gone 65536 4");
    REQUIRE(field(created, 0) == "ok");
    std::string view = a->ask("map " + field(created, 1) + " 0xF001F 0 0");
    REQUIRE(field(view, 0) == "ok");
    REQUIRE(a->ask("write " + field(view, 1) + " x") == "ok");
    REQUIRE(field(a->ask("unmap " + field(view, 1)), 0) == "ok");
    // (CE 5 lets it touch the mapping by address while the mapping lives: window_touch_test.)
    REQUIRE(field(a->ask("close " + field(created, 1)), 0) == "ok");
    expect_segv(*a, "read " + field(view, 1) + " 1");
}
