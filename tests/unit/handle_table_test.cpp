// HandleTable: CE 5's one global handle table and CE 6's per-process tables
// (docs/semantics/handles.md).
#include <algorithm>
#include <set>
#include <vector>

#include "kernel/core/handle_table.h"
#include "unit_support.h"

#if defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>
#define CEK_HAVE_MALLINFO2 1
#endif
#endif

namespace {

using cek::Win32Error;
using cek::kernel::HandleTable;
using cek::kernel::HandleValue;
using cek::kernel::KernelObject;
using cek::kernel::kKernelProcess;
using cek::kernel::ProcessId;
using cek::kernel::Ref;
using cek::unit::dummy;
using cek::unit::error_of;

constexpr ProcessId kA{1};
constexpr ProcessId kB{2};
constexpr ProcessId kC{3};

HandleValue insert(HandleTable& t, ProcessId owner, bool kernel_owned = false) {
    auto r = t.insert(dummy(), owner, 0, kernel_owned);
    REQUIRE(r.ok());
    return r.value();
}

bool holds(const HandleTable& t, ProcessId p, HandleValue h) {
    auto v = t.handles_of(p);
    return std::find(v.begin(), v.end(), h) != v.end();
}

}  // namespace

TEST_CASE("Handle values are never 0, never INVALID_HANDLE_VALUE, never pseudo handles, and have bit 1 set",
          "[unit][handle]") {
    // Checked in bulk (one assertion per property) to keep the TAP output short.
    std::vector<uint32_t> bad;
    auto keeps_rules = [](uint32_t v) {
        return v != 0 && v != 0xFFFFFFFFu && !(v >= 0x40 && v <= 0x5F) && (v & 3u) == 2u;
    };

    HandleTable t(4096);
    std::vector<HandleValue> live;
    // Fill, then churn slots so that generations advance too.
    for (int i = 0; i < 4096; ++i) live.push_back(insert(t, kA));
    size_t release_failures = 0;
    for (int round = 0; round < 600; ++round) {
        for (size_t i = 0; i < 8; ++i) {
            auto& h = live[(round * 8 + i) % live.size()];
            if (!t.release(h, kA).ok()) ++release_failures;
            h = insert(t, kA);
        }
    }
    CHECK(release_failures == 0);
    std::set<uint32_t> seen;
    for (auto h : live) {
        seen.insert(h.raw);
        if (!keeps_rules(h.raw)) bad.push_back(h.raw);
    }
    CHECK(seen.size() == 4096);  // live values are distinct

    // One slot reused past the generation wrap: every value still keeps the rules, and two
    // consecutive values of the slot always differ.
    HandleTable one(1);
    HandleValue previous{};
    size_t repeats = 0;
    for (int i = 0; i < 1500; ++i) {
        auto h = insert(one, kA);
        if (!keeps_rules(h.raw)) bad.push_back(h.raw);
        if (h == previous) ++repeats;
        previous = h;
        if (!one.release(h, kA).ok()) ++release_failures;
    }
    CHECK(repeats == 0);
    CHECK(release_failures == 0);
    CHECK(bad.empty());
}

TEST_CASE("The first handle values leave room below for the pseudo handle block",
          "[unit][handle]") {
    HandleTable t(8);
    auto h = insert(t, kA);
    CHECK(h.raw > 0x5F);
    CHECK(h == HandleTable::make_value(HandleTable::kFirstIndex, 1));
}

TEST_CASE("A value that was closed is rejected, even after its slot is reused",
          "[unit][handle]") {
    HandleTable t(1);  // one slot: every insert reuses it
    auto old = insert(t, kA);
    REQUIRE(t.release(old, kA).ok());
    CHECK(t.find_id(old.raw) == nullptr);
    CHECK(t.find_for(old, kA) == nullptr);
    auto again = t.release(old, kA);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error() == Win32Error::ERROR_INVALID_HANDLE);

    auto fresh = insert(t, kA);
    CHECK(fresh != old);
    CHECK(t.find_id(fresh.raw) != nullptr);
    CHECK(t.find_id(old.raw) == nullptr);
    CHECK(t.references_of(old, kA) == 0);
    auto stale = t.release(old, kA);
    REQUIRE_FALSE(stale.ok());
    CHECK(stale.error() == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(t.find_id(fresh.raw) != nullptr);  // the stale close did not touch the new entry
}

TEST_CASE("Values that are not table values are rejected", "[unit][handle]") {
    HandleTable t(16);
    auto h = insert(t, kA);
    for (uint32_t v : {0u, 0xFFFFFFFFu, 0x42u, 0x41u, h.raw | 1u, h.raw & ~2u, h.raw + 4u,
                       h.raw ^ 0x00400000u, 0x7FFFFFFEu}) {
        INFO("value 0x" << std::hex << v);
        CHECK(t.find_id(v) == nullptr);
        auto r = t.release(HandleValue{v}, kA);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error() == Win32Error::ERROR_INVALID_HANDLE);
    }
    CHECK(t.size() == 1);
}

TEST_CASE("References are counted per process and the entry dies with the last one",
          "[unit][handle]") {
    HandleTable t(16);
    auto h = insert(t, kA);
    t.add_ref(h, kA, 0);
    t.add_ref(h, kB, 0);
    CHECK(t.references_of(h, kA) == 2);
    CHECK(t.references_of(h, kB) == 1);
    CHECK(t.references_of(h, kC) == 0);
    CHECK(t.find_id(h.raw)->total == 3);

    auto r1 = t.release(h, kA);
    REQUIRE(r1.ok());
    CHECK_FALSE(r1.value());  // not the last reference
    CHECK(t.references_of(h, kA) == 1);
    auto r2 = t.release(h, kB);
    REQUIRE(r2.ok());
    CHECK_FALSE(r2.value());
    CHECK_FALSE(holds(t, kB, h));
    CHECK(t.find_for(h, kB) == nullptr);  // B let go: it can no longer use the value
    auto r3 = t.release(h, kA);
    REQUIRE(r3.ok());
    CHECK(r3.value());  // the last reference hands the object back
    CHECK(t.size() == 0);
    CHECK(t.find_id(h.raw) == nullptr);
}

TEST_CASE("A process without a reference can neither use nor close a handle",
          "[unit][handle]") {
    HandleTable t(16);
    auto h = insert(t, kA);
    CHECK(t.find_for(h, kA) != nullptr);
    CHECK(t.find_for(h, kB) == nullptr);
    auto r = t.release(h, kB);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == Win32Error::ERROR_INVALID_HANDLE);
    auto all = t.release_all(h, kB);
    REQUIRE_FALSE(all.ok());
    CHECK(all.error() == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(t.references_of(h, kA) == 1);  // the owner's reference is untouched
    CHECK(t.find_id(h.raw)->total == 1);
}

TEST_CASE("A kernel-owned entry is usable by every process but closable only by a holder",
          "[unit][handle]") {
    HandleTable t(16);
    auto h = insert(t, kKernelProcess, true);
    CHECK(t.find_for(h, kA) != nullptr);
    CHECK(t.find_for(h, kB) != nullptr);
    CHECK(t.find_for(h, kKernelProcess) != nullptr);
    auto r = t.release(h, kA);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == Win32Error::ERROR_INVALID_HANDLE);
    auto k = t.release(h, kKernelProcess);
    REQUIRE(k.ok());
    CHECK(k.value());
    CHECK(t.find_for(h, kA) == nullptr);
}

TEST_CASE("release_all drops exactly one process's whole count", "[unit][handle]") {
    HandleTable t(16);
    auto h = insert(t, kA);
    t.add_ref(h, kA, 0);
    t.add_ref(h, kA, 0);
    t.add_ref(h, kB, 0);
    auto r = t.release_all(h, kA);
    REQUIRE(r.ok());
    CHECK_FALSE(r.value());
    CHECK(t.references_of(h, kA) == 0);
    CHECK(t.references_of(h, kB) == 1);
    CHECK(t.find_id(h.raw)->total == 1);
    CHECK(t.handles_of(kA).empty());
    auto last = t.release_all(h, kB);
    REQUIRE(last.ok());
    CHECK(last.value());
    CHECK(t.size() == 0);
}

TEST_CASE("A full table gives ERROR_NO_MORE_USER_HANDLES until a slot frees",
          "[unit][handle]") {
    HandleTable t(3);
    auto a = insert(t, kA);
    insert(t, kA);
    insert(t, kB);
    auto full = t.insert(dummy(), kA, 0);
    REQUIRE_FALSE(full.ok());
    CHECK(full.error() == Win32Error::ERROR_NO_MORE_USER_HANDLES);
    CHECK(t.size() == 3);
    REQUIRE(t.release(a, kA).ok());
    auto again = t.insert(dummy(), kC, 0);
    REQUIRE(again.ok());
    CHECK(again.value() != a);
    auto full2 = t.insert(dummy(), kC, 0);
    REQUIRE_FALSE(full2.ok());
    CHECK(full2.error() == Win32Error::ERROR_NO_MORE_USER_HANDLES);
}

TEST_CASE("A capacity above the index space is clamped to it", "[unit][handle]") {
    HandleTable t(0xFFFFFFFFu);
    auto h = insert(t, kA);
    CHECK(t.find_id(h.raw) != nullptr);
    // The largest index still encodes below bit 31 with the largest generation.
    auto top = HandleTable::make_value(HandleTable::kFirstIndex + HandleTable::kMaxEntries - 1,
                                       0x1FF);
    CHECK(top.raw < 0x80000000u);
    CHECK(top.raw != 0xFFFFFFFFu);
}

TEST_CASE("handles_of lists exactly the values a process holds", "[unit][handle]") {
    HandleTable t(64);
    auto a1 = insert(t, kA);
    auto a2 = insert(t, kA);
    auto b1 = insert(t, kB);
    t.add_ref(b1, kA, 0);
    t.add_ref(a1, kA, 0);  // a second reference does not list the value twice

    auto of_a = t.handles_of(kA);
    std::sort(of_a.begin(), of_a.end(), [](auto x, auto y) { return x.raw < y.raw; });
    std::vector<HandleValue> want{a1, a2, b1};
    std::sort(want.begin(), want.end(), [](auto x, auto y) { return x.raw < y.raw; });
    CHECK(of_a == want);
    CHECK(t.handles_of(kB) == std::vector<HandleValue>{b1});
    CHECK(t.handles_of(kC).empty());

    REQUIRE(t.release(a2, kA).ok());
    CHECK_FALSE(holds(t, kA, a2));
    REQUIRE(t.release(a1, kA).ok());
    CHECK(holds(t, kA, a1));  // one reference left
    REQUIRE(t.release(b1, kA).ok());
    CHECK_FALSE(holds(t, kA, b1));
    CHECK(holds(t, kB, b1));
}

TEST_CASE("for_each visits every live entry with its current value", "[unit][handle]") {
    HandleTable t(8);
    auto a = insert(t, kA);
    auto b = insert(t, kA);
    auto c = insert(t, kB);
    REQUIRE(t.release(b, kA).ok());
    std::set<uint32_t> visited;
    t.for_each([&](HandleValue v, const HandleTable::Entry& e) {
        CHECK(e.object);
        visited.insert(v.raw);
    });
    CHECK(visited == std::set<uint32_t>{a.raw, c.raw});
}

TEST_CASE("The table costs less than 256 bytes per handle at 100k handles",
          "[unit][handle][memory]") {
#if defined(CEK_HAVE_MALLINFO2) && !defined(__SANITIZE_ADDRESS__)
    // Small blocks are counted in uordblks, mmap-ed large ones (the entry vector) in hblkhd.
    auto heap = [] {
        const auto mi = mallinfo2();
        return mi.uordblks + mi.hblkhd;
    };
    const size_t heap_before = heap();
#endif
    constexpr size_t kCount = 100'000;
    // The objects are allocated up front so that the heap measure covers only the table.
    std::vector<Ref<KernelObject>> objects;
    objects.reserve(kCount);
    for (size_t i = 0; i < kCount; ++i) objects.push_back(dummy());
#if defined(CEK_HAVE_MALLINFO2) && !defined(__SANITIZE_ADDRESS__)
    const size_t heap_objects = heap();
#endif
    {
        HandleTable t(HandleTable::kMaxEntries);
        size_t inserted = 0;
        for (size_t i = 0; i < kCount; ++i) {
            // Spread the handles over a few processes, as a busy system would.
            auto r = t.insert(objects[i], ProcessId{static_cast<uint32_t>(1 + i % 8)}, 0);
            if (r.ok()) ++inserted;
        }
        REQUIRE(inserted == kCount);
        REQUIRE(t.size() == kCount);
        const size_t reported = t.memory_bytes() / kCount;
        CHECK(reported < 256);
#if defined(CEK_HAVE_MALLINFO2) && !defined(__SANITIZE_ADDRESS__)
        const size_t heap_table = heap();
        if (heap_table > heap_objects) CHECK((heap_table - heap_objects) / kCount < 256);
#endif
    }
#if defined(CEK_HAVE_MALLINFO2) && !defined(__SANITIZE_ADDRESS__)
    (void)heap_before;
#endif
}

// ---- The per-process model (CE 6, docs/semantics/handles.md §9) ----

TEST_CASE("PerProcess: odd values (index << 16) | reuse, per process, 4 more on each reuse",
          "[unit][handle][ce6]") {
    HandleTable t(1024, HandleTable::kDefaultProcessQuota, HandleTable::Model::PerProcess);
    HandleValue a1 = insert(t, kA);
    HandleValue b1 = insert(t, kB);
    CHECK(a1.raw == 0x00400003u);
    CHECK(b1.raw == 0x00400003u);  // the same value, in another table
    CHECK(t.find_for(a1, kA)->object != t.find_for(b1, kB)->object);
    CHECK(t.find_for(a1, kC) == nullptr);
    REQUIRE(t.release(a1, kA).ok());
    CHECK(t.find_for(a1, kA) == nullptr);
    CHECK(t.find_for(b1, kB) != nullptr);
    HandleValue a2 = insert(t, kA);
    CHECK(a2.raw == 0x00400007u);
    CHECK(t.find_for(a1, kA) == nullptr);
    CHECK(error_of(t.release(a1, kA)) == Win32Error::ERROR_INVALID_HANDLE);
    // Values that are not this model's: bit 0 clear (ids, CE 5 values), index below 64.
    for (uint32_t v : {0u, 2u, 0x00400002u, 0x00400001u, 0x003F0003u, 0xFFFFFFFFu})
        CHECK(t.find_for(HandleValue{v}, kA) == nullptr);
}

TEST_CASE("PerProcess: open() makes a new entry; the object's count spans every table",
          "[unit][handle][ce6]") {
    HandleTable t(1024, HandleTable::kDefaultProcessQuota, HandleTable::Model::PerProcess);
    auto object = dummy();
    auto first = t.insert(object, kA, 0);
    REQUIRE(first.ok());
    auto again = t.open(object, kA, 0);
    auto other = t.open(object, kB, 0);
    REQUIRE(again.ok());
    REQUIRE(other.ok());
    CHECK(again.value() != first.value());
    CHECK(t.handle_count(*object) == 3);
    t.hold(object);  // a view
    CHECK(t.handle_count(*object) == 4);
    // Only the last of all of them reports the object.
    CHECK_FALSE(t.release(first.value(), kA).value());
    CHECK_FALSE(t.release(again.value(), kA).value());
    CHECK_FALSE(t.release_all(other.value(), kB).value());
    CHECK(t.handle_count(*object) == 1);
    CHECK(t.unhold(*object) == object);
    CHECK(t.handle_count(*object) == 0);
    CHECK(t.size() == 0);
}

TEST_CASE("PerProcess: ids are the kernel's values with bit 0 clear", "[unit][handle][ce6]") {
    HandleTable t(1024, HandleTable::kDefaultProcessQuota, HandleTable::Model::PerProcess);
    auto object = dummy();
    HandleValue own = t.insert(object, kKernelProcess, 0).value();
    const uint32_t id = t.id_of(own);
    CHECK((id & 1u) == 0);
    CHECK(t.value_of_id(id) == own);
    CHECK(t.find_id(id)->object == object);
    CHECK(t.find_id(own.raw) == nullptr);  // odd: a handle, not an id
    HandleValue mine = t.open(object, kA, 0).value();
    CHECK(t.find_for(mine, kA)->object == object);
    CHECK(t.find_for(own, kA) == t.find_for(mine, kA));  // a's first value: the same number
    HandleTable global(1024);
    HandleValue g = global.insert(dummy(), kKernelProcess, 0).value();
    CHECK(global.id_of(g) == g.raw);
    CHECK(global.find_id(g.raw) != nullptr);
}

TEST_CASE("PerProcess: a process's table holds 65,472 values, then ERROR_NO_MORE_USER_HANDLES",
          "[unit][handle][ce6]") {
    HandleTable t(HandleTable::kMaxEntries, 1u << 20, HandleTable::Model::PerProcess);
    auto object = dummy();
    const uint32_t room = HandleTable::kLastLocalIndex - HandleTable::kFirstIndex + 1;
    uint32_t made = 0;
    for (uint32_t i = 0; i < room; ++i) made += t.insert(object, kA, 0).ok() ? 1 : 0;
    CHECK(made == room);
    CHECK(error_of(t.insert(object, kA, 0)) == Win32Error::ERROR_NO_MORE_USER_HANDLES);
    CHECK(t.size() == room);  // the store slot of the refused entry went back
    CHECK(t.insert(object, kB, 0).ok());  // another table has room
}
