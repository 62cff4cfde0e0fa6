// AddressWindow: ranges of the shared mapping window (CE 5's mapper region).
#include <vector>

#include "kernel/core/address_window.h"
#include "kernel/core/object.h"
#include "unit_support.h"

namespace {

using cek::kernel::AddressWindow;
using cek::kernel::KernelObject;
using cek::kernel::ObjectDetails;
using cek::kernel::ObjectType;
using cek::kernel::ProcessId;

constexpr uint64_t kBase = 0x2000'0000'0000ULL;
constexpr uint64_t K64 = 64ULL << 10;
constexpr uint64_t M2 = 2ULL << 20;

class Owner final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Mapping;
    Owner() : KernelObject(kType) {}
    void describe(ObjectDetails&) const override {}
};

}  // namespace

TEST_CASE("Small ranges are rounded to 64 KiB and packed from the bottom",
          "[unit][window]") {
    AddressWindow w(kBase, 64 * M2);
    Owner a, b, c;
    auto ra = w.allocate(1, &a);
    auto rb = w.allocate(K64, &b);
    auto rc = w.allocate(K64 + 1, &c);
    REQUIRE(ra);
    REQUIRE(rb);
    REQUIRE(rc);
    CHECK(*ra == kBase);
    CHECK(*rb == kBase + K64);
    CHECK(*rc == kBase + 2 * K64);
    CHECK(w.bytes_in_use() == 4 * K64);
    CHECK(w.range_count() == 3);
    CHECK(AddressWindow::rounded_length(1) == K64);
    CHECK(AddressWindow::rounded_length(K64) == K64);
    CHECK(AddressWindow::rounded_length(K64 + 1) == 2 * K64);
    CHECK(AddressWindow::rounded_length(M2 - 1) == M2);
}

TEST_CASE("Ranges of 2 MiB or more are 2 MiB-aligned and leave the hole below usable",
          "[unit][window]") {
    AddressWindow w(kBase, 64 * M2);
    Owner small, big, bigger, filler;
    auto rs = w.allocate(K64, &small);
    auto rb = w.allocate(M2, &big);
    REQUIRE(rs);
    REQUIRE(rb);
    CHECK(*rs == kBase);
    CHECK(*rb % M2 == 0);
    CHECK(*rb == kBase + M2);
    auto rbb = w.allocate(M2 + 1, &bigger);  // rounds to 4 MiB, 2 MiB aligned
    REQUIRE(rbb);
    CHECK(*rbb % M2 == 0);
    CHECK(AddressWindow::rounded_length(M2 + 1) == 2 * M2);
    CHECK(w.bytes_in_use() == K64 + M2 + 2 * M2);
    // The 64 KiB..2 MiB hole under the first large range still serves small requests.
    auto rf = w.allocate(K64, &filler);
    REQUIRE(rf);
    CHECK(*rf == kBase + K64);
}

TEST_CASE("Large ranges are 2 MiB-aligned even when the window base is not",
          "[unit][window]") {
    const uint64_t odd_base = kBase + K64;
    AddressWindow w(odd_base, 64 * M2);
    Owner big;
    auto r = w.allocate(3 * M2, &big);
    REQUIRE(r);
    CHECK(*r % M2 == 0);
    CHECK(*r >= odd_base);
    CHECK(*r + 4 * M2 <= odd_base + 64 * M2);
}

TEST_CASE("Freed ranges coalesce so that the whole window can be allocated again",
          "[unit][window]") {
    const uint64_t size = 16 * M2;
    AddressWindow w(kBase, size);
    Owner o[5];
    std::vector<uint64_t> starts;
    for (auto& owner : o) {
        auto r = w.allocate(3 * K64, &owner);
        REQUIRE(r);
        starts.push_back(*r);
    }
    // A whole-window request cannot fit while anything is in use.
    Owner whole;
    CHECK_FALSE(w.allocate(size, &whole));
    // Free out of order: middle, then the edges, then the neighbours of the middle.
    w.free(starts[2]);
    w.free(starts[0]);
    w.free(starts[4]);
    w.free(starts[1]);
    CHECK_FALSE(w.allocate(size, &whole));
    w.free(starts[3]);
    CHECK(w.bytes_in_use() == 0);
    CHECK(w.range_count() == 0);
    auto all = w.allocate(size, &whole);
    REQUIRE(all);
    CHECK(*all == kBase);
}

TEST_CASE("Freeing an address that starts no range changes nothing", "[unit][window]") {
    AddressWindow w(kBase, 16 * M2);
    Owner a;
    auto r = w.allocate(K64, &a);
    REQUIRE(r);
    w.free(*r + 1);
    w.free(kBase - K64);
    w.free(kBase + 8 * M2);
    CHECK(w.range_count() == 1);
    CHECK(w.bytes_in_use() == K64);
    CHECK(w.owner_of(*r) == &a);
    w.free(*r);
    w.free(*r);  // a double free is ignored
    CHECK(w.bytes_in_use() == 0);
}

TEST_CASE("owner_of finds the range at its first and last byte and nothing outside",
          "[unit][window]") {
    AddressWindow w(kBase, 16 * M2);
    Owner a, b;
    auto ra = w.allocate(K64, &a);
    auto rb = w.allocate(2 * K64, &b);
    REQUIRE(ra);
    REQUIRE(rb);
    uint64_t base = 0;
    CHECK(w.owner_of(kBase - 1) == nullptr);
    CHECK(w.owner_of(0) == nullptr);
    CHECK(w.owner_of(*ra, &base) == &a);
    CHECK(base == *ra);
    CHECK(w.owner_of(*ra + K64 - 1, &base) == &a);
    CHECK(base == *ra);
    CHECK(w.owner_of(*ra + K64, &base) == &b);  // the next range starts right there
    CHECK(base == *rb);
    CHECK(w.owner_of(*rb + 2 * K64 - 1) == &b);
    CHECK(w.owner_of(*rb + 2 * K64) == nullptr);
    CHECK(w.owner_of(kBase + 16 * M2) == nullptr);
    CHECK(w.owner_of(~0ULL) == nullptr);
    w.free(*ra);
    CHECK(w.owner_of(*ra) == nullptr);
    CHECK(w.owner_of(*rb) == &b);
}

TEST_CASE("A full window returns nullopt, and room returns after a free", "[unit][window]") {
    AddressWindow w(kBase, 4 * K64);
    Owner o[5];
    for (int i = 0; i < 4; ++i) REQUIRE(w.allocate(K64, &o[i]));
    CHECK_FALSE(w.allocate(1, &o[4]));
    CHECK(w.bytes_in_use() == 4 * K64);
    w.free(kBase + K64);
    auto r = w.allocate(K64, &o[4]);
    REQUIRE(r);
    CHECK(*r == kBase + K64);
}

TEST_CASE("Impossible requests return nullopt", "[unit][window]") {
    AddressWindow w(kBase, 4 * M2);
    Owner a;
    CHECK_FALSE(w.allocate(0, &a));
    CHECK_FALSE(w.allocate(4 * M2 + 1, &a));
    CHECK_FALSE(w.allocate(~0ULL, &a));
    CHECK_FALSE(w.allocate(~0ULL - K64, &a));
    CHECK(w.range_count() == 0);
    // A large range needs an aligned hole: after one small range, 4 MiB no longer fits.
    REQUIRE(w.allocate(K64, &a));
    Owner big;
    CHECK_FALSE(w.allocate(4 * M2, &big));
    auto r = w.allocate(M2, &big);
    REQUIRE(r);
    CHECK(*r == kBase + M2);
}

TEST_CASE("A retired range stays in use until its last holder lets go", "[unit][window]") {
    AddressWindow w(kBase, 4 * K64);
    Owner o[3];
    auto r = w.allocate(K64, &o[0]);
    REQUIRE(r);
    w.retire(*r, {ProcessId{7}, ProcessId{9}});
    CHECK(w.owner_of(*r) == nullptr);  // nobody's any more
    CHECK(w.bytes_in_use() == K64);
    CHECK(w.retired_count() == 1);
    CHECK(*w.allocate(K64, &o[1]) != *r);
    w.let_go(ProcessId{7});
    w.let_go(ProcessId{3});  // not a holder: nothing happens
    CHECK(w.retired_count() == 1);
    w.let_go(ProcessId{9});
    CHECK(w.retired_count() == 0);
    CHECK(w.bytes_in_use() == K64);
    CHECK(*w.allocate(K64, &o[2]) == *r);
    // No holders: freed at once.
    w.retire(*r, {});
    CHECK(w.bytes_in_use() == K64);
    CHECK(w.retired_count() == 0);
}

TEST_CASE("allocate_at takes a free range at its address, aligned, and nothing in use",
          "[unit][window]") {
    AddressWindow w(kBase, 64 * M2);
    Owner a, b;
    CHECK(w.allocate_at(kBase + 3 * K64, K64, &a));
    CHECK(w.owner_of(kBase + 3 * K64) == &a);
    CHECK(w.bytes_in_use() == K64);
    // The hole below stays usable, first fit fills it.
    auto below = w.allocate(2 * K64, &b);
    REQUIRE(below);
    CHECK(*below == kBase);
    CHECK_FALSE(w.allocate_at(kBase + 3 * K64, K64, &b));      // in use
    CHECK_FALSE(w.allocate_at(kBase + K64, K64, &b));          // in use (b's)
    CHECK_FALSE(w.allocate_at(kBase + 2 * K64 + 1, K64, &b));  // not aligned
    CHECK_FALSE(w.allocate_at(kBase + 2 * K64, 2 * K64, &b));  // runs into a's
    CHECK_FALSE(w.allocate_at(kBase + M2 + K64, M2, &b));      // 2 MiB ranges are 2 MiB-aligned
    CHECK_FALSE(w.allocate_at(kBase + 64 * M2 - K64, 2 * K64, &b));  // past the end
    CHECK(w.allocate_at(kBase + 2 * K64, K64, &b));
    w.free(kBase + 3 * K64);
    CHECK(w.allocate_at(kBase + 3 * K64, K64, &a));  // free again after free()
    CHECK(w.range_count() == 3);
}
