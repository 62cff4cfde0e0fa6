// CE 5's global view (docs/semantics/mappings.md §9): any process reads and writes any live
// mapping by address without mapping a view; an address of no mapping, a write to a read-only
// mapping and a mapping freed before the touch still fault.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

std::string offset_address(const std::string& address, uint64_t offset) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx",
                  static_cast<unsigned long long>(std::stoull(address, nullptr, 16) + offset));
    return text;
}

// A view of a new unnamed RAM mapping of `size` bytes in `process`: its address.
std::string new_ram_view(Child& process, const std::string& size = "65536") {
    const std::string created = process.ask("create - " + size + " 4");
    REQUIRE(field(created, 0) == "ok");
    const std::string view = process.ask("map " + field(created, 1) + " 0xF001F 0 0");
    REQUIRE(field(view, 0) == "ok");
    return field(view, 1);
}

}  // namespace

TEST_CASE("a process reads and writes another's mapping by address without a view",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string view = new_ram_view(*a, "100000");  // unnamed: b cannot open it
    REQUIRE(a->ask("write " + view + " from-a") == "ok");
    CHECK(b->ask("read " + view + " 6") == "ok from-a");
    // Anywhere in the range, in both directions, the same pages.
    const std::string far = offset_address(view, 99000);
    REQUIRE(b->ask("write " + far + " from-b") == "ok");
    CHECK(a->ask("read " + far + " 6") == "ok from-b");
    REQUIRE(a->ask("write " + view + " again") == "ok");
    CHECK(b->ask("read " + view + " 5") == "ok again");
    // Snapshots (cedump) count the processes that touched it.
    std::string touched_by;
    for (const auto& o : k.snapshot().objects)
        for (const auto& [key, value] : o.details)
            if (o.type == "mapping" && key == "touched by") touched_by = value;
    CHECK(touched_by == "1");
}

TEST_CASE("threads touching one range at once all see the mapping",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string view = new_ram_view(*a);
    REQUIRE(a->ask("write " + offset_address(view, 4096) + " shared") == "ok");
    CHECK(b->ask("mtread " + offset_address(view, 4096) + " 6 8") == "ok shared");
}

TEST_CASE("a process reaches a mapping by address after unmapping its own view",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string created = a->ask("create touch-unmapped 65536 4");
    std::string view = field(a->ask("map " + field(created, 1) + " 0xF001F 0 0"), 1);
    REQUIRE(a->ask("write " + view + " kept") == "ok");
    REQUIRE(field(a->ask("unmap " + view), 0) == "ok");  // the handle keeps the mapping
    CHECK(a->ask("read " + view + " 4") == "ok kept");
    REQUIRE(b->ask("write " + view + " more") == "ok");
    CHECK(a->ask("read " + view + " 4") == "ok more");
    // A view mapped after the touch is the same pages, and unmapping it leaves them reachable.
    std::string again = field(a->ask("map " + field(created, 1) + " 0xF001F 0 0"), 1);
    CHECK(again == view);
    REQUIRE(field(a->ask("unmap " + again), 0) == "ok");
    CHECK(a->ask("read " + view + " 4") == "ok more");
}

TEST_CASE("WriteFile from and ReadFile into a mapping the process never touched",
          "[multiproc][mapping][touch][file][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string view = new_ram_view(*a);
    REQUIRE(a->ask("write " + view + " payload") == "ok");
    std::string file = field(b->ask("open /Temp/touch-io.bin 0xC0000000 0 2"), 1);
    // The host call cannot fault the pages in (EFAULT): the shim maps the mapping and goes on.
    CHECK(b->ask("fwritefrom " + file + " " + view + " 7") == "ok 7");
    CHECK(host_file(k, "Temp/touch-io.bin") == "payload");
    REQUIRE(b->ask("seek " + file + " 0 0") == "ok 0");
    std::string elsewhere = new_ram_view(*a);
    CHECK(b->ask("freadinto " + file + " " + elsewhere + " 7") == "ok 7");
    CHECK(a->ask("read " + elsewhere + " 7") == "ok payload");
}

TEST_CASE("a touch of a read-only file mapping reads, and a write through it faults",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = spawn_child_that_may_fault(k);
    std::string file = field(a->ask("cffm /Temp/touch-ro.txt 0xC0000000 0 2"), 1);
    REQUIRE(a->ask("fwrite " + file + " read-only-bytes") == "ok 15");
    REQUIRE(field(a->ask("close " + file), 0) == "ok");
    file = field(a->ask("cffm /Temp/touch-ro.txt 0x80000000 1 3"), 1);
    std::string map = a->ask("fmap " + file + " 2 0");
    REQUIRE(field(map, 0) == "ok");
    std::string view = field(a->ask("map " + field(map, 1) + " 4 0 0"), 1);
    CHECK(b->ask("read " + view + " 15") == "ok read-only-bytes");
    expect_segv(*b, "write " + view + " x");
    CHECK(a->ask("read " + view + " 15") == "ok read-only-bytes");
}

TEST_CASE("a touch of a window address no mapping holds faults",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto b = spawn_child_that_may_fault(k);
    std::string view = new_ram_view(*a);
    REQUIRE(b->ask("read " + view + " 1").rfind("ok", 0) == 0);
    expect_segv(*b, "read " + offset_address(view, 1ULL << 30) + " 1");
}

TEST_CASE("a mapping freed before or after the touch faults, and its range is reused once the "
          "processes that touched it let go",
          "[multiproc][mapping][touch][ce5]") {
    KernelFixture k(kCe5Kernel);
    auto a = k.spawn_child();
    auto toucher = spawn_child_that_may_fault(k);
    auto bystander = k.spawn_child();
    auto late = spawn_child_that_may_fault(k);
    std::string created = a->ask("create - 65536 4");
    std::string view = field(a->ask("map " + field(created, 1) + " 0xF001F 0 0"), 1);
    REQUIRE(a->ask("write " + view + " old") == "ok");
    REQUIRE(toucher->ask("read " + view + " 3") == "ok old");
    REQUIRE(bystander->ask("read " + view + " 3") == "ok old");
    REQUIRE(field(a->ask("unmap " + view), 0) == "ok");
    REQUIRE(field(a->ask("close " + field(created, 1)), 0) == "ok");  // the mapping is gone

    // Never touched: the kernel names no mapping there.
    expect_segv(*late, "read " + view + " 1");
    // Touched before: the kernel's shootdown signal, sent before the close returned, took the
    // range away (the main thread, asleep reading its next command, ran the handler first).
    expect_segv(*toucher, "read " + view + " 1");
    // The range goes to the next mapping once the living process that touched it has let go.
    REQUIRE(bystander->ask("ping") == "ok");
    std::string reused;
    for (int i = 0; i < 200 && reused != view; ++i)  // the kernel reads its doorbell in turn
        reused = new_ram_view(*a);
    CHECK(reused == view);
    REQUIRE(a->ask("write " + view + " new") == "ok");
    CHECK(bystander->ask("read " + view + " 3") == "ok new");  // the new mapping, by a touch
}
