// Huge reservations in the kernel (docs/semantics/vmem.md §6), through cek::kernel::Kernel with
// fake processes: window ranges for one owner, released by it or at its death.
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;

TEST_CASE("huge reservations take window ranges apart from mappings, one owner each",
          "[unit][vmem][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto r = s.k.reserve_huge(a, 3 << 20);
    REQUIRE(r.ok());
    CHECK(r->length == (4 << 20));  // 2 MiB units from 2 MiB on
    CHECK(r->address % (2 << 20) == 0);
    HandleValue m = s.make(b, 1 << 20);
    auto view = s.k.map_view(b, m, ce::kFileMapWrite, 0, 0, 0);
    REQUIRE(view.ok());
    CHECK((view->map_base + view->map_length <= r->address ||
           r->address + r->length <= view->map_base));
    CHECK(s.k.window().owner_of(r->address) == nullptr);
    // Only the owner releases, only at the base.
    CHECK(s.k.release_huge(b, r->address).error() == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.release_huge(a, r->address + 0x10000).error() == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.huge_reservations(a).size() == 1);
    CHECK(s.k.release_huge(a, r->address).ok());
    CHECK(s.k.huge_reservations(a).empty());
    CHECK(s.k.release_huge(a, r->address).error() == Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("huge reservations fail with ERROR_OUTOFMEMORY outside 2 MiB to 960 MiB or when the "
          "window is full", "[unit][vmem][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    CHECK(s.k.reserve_huge(a, (2 << 20) - 1).error() == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(s.k.reserve_huge(a, 0x3C000001).error() == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(s.k.reserve_huge(a, 0x3C000000).ok());
    size_t made = 0;
    while (s.k.reserve_huge(a, 0x3C000000).ok()) REQUIRE(++made < 1000);
    CHECK(s.k.reserve_huge(a, 0x3C000000).error() == Win32Error::ERROR_OUTOFMEMORY);
}

TEST_CASE("a detaching process's huge reservations go back to the window", "[unit][vmem][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto first = s.k.reserve_huge(a, 2 << 20);
    auto second = s.k.reserve_huge(a, 8 << 20);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(s.k.window().range_count() == 2);
    s.k.detach_process(a);
    CHECK(s.k.window().range_count() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
    auto b = s.attach();
    auto again = s.k.reserve_huge(b, 2 << 20);
    REQUIRE(again.ok());
    CHECK(again->address == first->address);
}
