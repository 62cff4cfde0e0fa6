// Fairness between host processes (issue 16, findings 4, 5 and 10): the handle quota counts every
// connection of one host process together, a host process holds a bounded number of
// connections, the table keeps every host process's floor free, and a signal costs liveness
// probes only for the waits it completes (docs/semantics/handles.md §6, sync.md).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "kernel/core/handle_table.h"
#include "protocol/messages.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::HandleTable;
using cek::kernel::kKernelProcess;
using cek::kernel::ObjectType;
using cek::kernel::ThreadRef;
using proto::EventOp;

namespace {

bool insert_ok(HandleTable& t, ProcessId owner, bool kernel_owned = false) {
    return t.insert(dummy(), owner, 0, kernel_owned).ok();
}

// Inserts until the table refuses; returns how many went in.
size_t fill(HandleTable& t, ProcessId owner) {
    size_t n = 0;
    while (insert_ok(t, owner)) ++n;
    return n;
}

KernelConfig small_quota(uint32_t quota) {
    KernelConfig c = config();
    c.handle_quota = quota;
    return c;
}

Result<HandleValue> new_event(Kernel& k, ProcessId p) {
    LastError le;
    return k.create_event(p, false, false, nullptr, le);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Finding 4: the quota is per host process

TEST_CASE("Processes bound to one quota group share one quota; another group is not charged",
          "[unit][handle][quota]") {
    HandleTable t(1000, 10);
    const ProcessId a1{1}, a2{2}, a3{3}, b{4};
    for (ProcessId p : {a1, a2, a3}) t.bind_group(p, 77);
    t.bind_group(b, 78);
    for (int i = 0; i < 4; ++i) REQUIRE(insert_ok(t, a1));
    for (int i = 0; i < 6; ++i) REQUIRE(insert_ok(t, a2));
    // The group holds 10: no connection of it gets another entry, new or by reference.
    CHECK_FALSE(insert_ok(t, a3));
    CHECK(t.insert(dummy(), a3, 0).error() == Win32Error::ERROR_NO_MORE_USER_HANDLES);
    auto other = t.insert(dummy(), b, 0);
    REQUIRE(other.ok());
    CHECK_FALSE(t.add_ref(other.value(), a3, 0));
    CHECK(t.held_by_group(a3) == 10);
    CHECK(t.held_by(a3) == 0);
    // Another host process still gets its whole quota.
    CHECK(fill(t, b) == 9);
    // A reference a process already holds is not a new entry for it: still allowed.
    auto mine = t.handles_of(a1).front();
    CHECK(t.add_ref(mine, a1, 0));
    // Closing one entry of the group lets any of its connections take one.
    REQUIRE(t.release_all(mine, a1).ok());
    CHECK(insert_ok(t, a3));
    CHECK_FALSE(insert_ok(t, a1));
}

TEST_CASE("A kernel's handle quota counts every connection of the host process together",
          "[unit][handle][quota]") {
    Scene s(small_quota(50));
    auto first = s.k.attach_process(4242, "flooder.exe", false);
    auto second = s.k.attach_process(4242, "flooder.exe", false);
    auto neighbour = s.k.attach_process(4343, "neighbour.exe", false);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    REQUIRE(neighbour.ok());
    size_t made = 0;
    for (ProcessId p : {first.value(), second.value()})
        while (new_event(s.k, p).ok()) ++made;
    // Old rule: 50 per connection, 100 in all.
    CHECK(made == 50);
    auto refused = new_event(s.k, second.value());
    REQUIRE_FALSE(refused.ok());
    // CE 5's full handle list; CE 6's full process table.
    CHECK(refused.error() == (s.ce5() ? Win32Error::ERROR_NOT_ENOUGH_MEMORY
                                      : Win32Error::ERROR_NO_MORE_USER_HANDLES));
    size_t neighbour_made = 0;
    while (new_event(s.k, neighbour.value()).ok()) ++neighbour_made;
    CHECK(neighbour_made == 50);
    // A connection that leaves gives its share back to its host process.
    s.k.detach_process(first.value());
    CHECK(new_event(s.k, second.value()).ok());
}

// ---------------------------------------------------------------------------------------------
// Finding 5: connections per host process

TEST_CASE("A host process holds at most max_connections_per_host connections",
          "[unit][process][quota]") {
    Scene s;
    const uint32_t cap = s.k.config().max_connections_per_host;
    REQUIRE(cap == 8);
    std::vector<ProcessId> mine;
    for (uint32_t i = 0; i < cap; ++i) {
        auto r = s.k.attach_process(500, i == 0 ? "app.exe" : "cedump", i != 0);
        REQUIRE(r.ok());
        mine.push_back(r.value());
    }
    auto over = s.k.attach_process(500, "app.exe", false);
    REQUIRE_FALSE(over.ok());
    CHECK(over.error() == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    auto diagnostics = s.k.attach_process(500, "cedump", true);  // diagnostics count as well
    REQUIRE_FALSE(diagnostics.ok());
    CHECK(s.k.connections_of(500) == cap);
    // Other host processes are not affected.
    CHECK(s.k.attach_process(501, "other.exe", false).ok());
    // One leaves: one may come.
    s.k.detach_process(mine[3]);
    CHECK(s.k.attach_process(500, "app.exe", false).ok());
    CHECK_FALSE(s.k.attach_process(500, "app.exe", false).ok());
}

TEST_CASE("A connection that hung up but is not yet detached does not count against its host",
          "[unit][process][quota]") {
    Scene s;
    std::vector<ProcessId> mine;
    for (uint32_t i = 0; i < 8; ++i)
        mine.push_back(s.k.attach_process(600, "app.exe", false).value());
    const ProcessId gone = mine[0];  // exec'd: its hang-up is not read yet
    size_t probes = 0;
    s.k.set_liveness_probe([&](ProcessId id) {
        ++probes;
        return id != gone;
    });
    CHECK(s.k.attach_process(600, "app.exe", false).ok());
    CHECK(probes == 8);  // asked only at the cap
    CHECK_FALSE(s.k.attach_process(600, "app.exe", false).ok());
    s.k.detach_process(gone);
    CHECK(s.k.connections_of(600) == 8);
    s.k.set_liveness_probe(nullptr);  // it refers to this test's locals
}

// ---------------------------------------------------------------------------------------------
// The fair share: every host process, present or future, is promised a floor of entries

TEST_CASE("The table keeps every group's floor free: a few big groups cannot take everything",
          "[unit][handle][quota]") {
    // 1,000 entries, a quota of 400 per group, a floor of 50 for each of up to 8 groups: the
    // promises hold 400 entries while nobody uses them.
    HandleTable t(1000, 400);
    t.set_fair_share(50, 8);
    CHECK(t.reserve() == 400);
    const ProcessId big1{1}, big2{2}, small{3}, late{4};
    // The first big group reaches its quota (600 free, 350 of them promised to others after it).
    CHECK(fill(t, big1) == 400);
    CHECK(t.reserve() == 350);
    // The second stops where the free entries meet the others' promises, not at its quota.
    CHECK(fill(t, big2) == 300);
    CHECK(t.size() == 700);
    CHECK(t.reserve() == 300);
    // Every other group still gets its floor, and no more.
    CHECK(fill(t, small) == 50);
    CHECK(fill(t, late) == 50);
    // Kernel-owned entries (CreateFileForMapping) may not eat into the promises either.
    CHECK_FALSE(insert_ok(t, kKernelProcess, true));
    // Entries coming back go to whoever asks first, above the reserve.
    for (auto h : t.handles_of(big1)) REQUIRE(t.release_all(h, big1).ok());
    CHECK(t.reserve() == 250);  // big1 holds nothing now: its floor is promised again
    CHECK(fill(t, small) == 400 - 50);
}

TEST_CASE("Group counts and the reserve follow every insert, reference and release",
          "[unit][handle][quota]") {
    // A fixed pseudo-random walk over six processes in three groups; after each step the
    // table's own counts must equal the ones recomputed from handles_of().
    HandleTable t(200, 60);
    t.set_fair_share(10, 5);
    const std::vector<ProcessId> procs{ProcessId{1}, ProcessId{2}, ProcessId{3},
                                       ProcessId{4}, ProcessId{5}, ProcessId{6}};
    for (size_t i = 0; i < procs.size(); ++i) t.bind_group(procs[i], static_cast<uint32_t>(i / 2));
    uint32_t state = 12345;
    auto next = [&] { return state = state * 1103515245u + 12345u, state >> 8; };
    size_t mismatches = 0, refusals = 0;
    for (int step = 0; step < 4000; ++step) {
        const ProcessId p = procs[next() % procs.size()];
        const auto held = t.handles_of(p);
        switch (next() % 4) {
        case 0:
        case 1:
            refusals += !insert_ok(t, p);
            break;
        case 2: {  // a reference on someone else's entry
            const auto theirs = t.handles_of(procs[next() % procs.size()]);
            if (!theirs.empty()) refusals += !t.add_ref(theirs[next() % theirs.size()], p, 0);
            break;
        }
        default:
            if (!held.empty()) (void)t.release_all(held[next() % held.size()], p);
        }
        size_t floors = 0;
        for (size_t g = 0; g < 3; ++g) {
            const size_t sum =
                t.handles_of(procs[2 * g]).size() + t.handles_of(procs[2 * g + 1]).size();
            mismatches += t.held_by_group(procs[2 * g]) != sum;
            mismatches += sum > 60;  // never past the quota
            floors += std::min<size_t>(sum, 10);
        }
        mismatches += t.reserve() != 10 * 5 - floors;
    }
    CHECK(mismatches == 0);
    CHECK(refusals > 0);  // the walk reached the limits
}

TEST_CASE("The floor the kernel promises is capped at half the table", "[unit][handle][quota]") {
    // One kernel at a time: each reserves the same window.
    auto floor_and_reserve = [](KernelConfig c) {
        Kernel k(c);
        return std::pair{k.handles().floor(), k.handles().reserve()};
    };
    // Default: 64 entries for each of 4,096 host processes, a quarter of the table.
    CHECK(floor_and_reserve(config()) == std::pair{64u, size_t{64} * 4096});
    // A small table lowers the floor so that the promises never hold more than half of it.
    KernelConfig c = config(kWindowSize, 4096);
    CHECK(floor_and_reserve(c).first == 0);
    c.max_processes = 16;
    CHECK(floor_and_reserve(c).first == 64);
    c.max_processes = 64;
    CHECK(floor_and_reserve(c) == std::pair{32u, size_t{2048}});
}

// ---------------------------------------------------------------------------------------------
// Finding 10: a signal costs probes only for the waits it completes

namespace {

constexpr int kProcesses = 100;
constexpr int kWaitsEach = 100;  // 10,000 parked waits

// `kProcesses` fake processes, each parking `kWaitsEach` waits on one named object, in
// round-robin arrival order; the probe counts its calls and calls the first `dead` processes
// gone (died, hang-up not read yet).
struct CrowdScene : Scene {
    std::vector<ProcessId> procs;
    size_t probes = 0;
    size_t dead = 0;

    CrowdScene() {
        for (int i = 0; i < kProcesses; ++i) procs.push_back(attach());
        k.set_liveness_probe([this](ProcessId id) {
            ++probes;
            for (size_t i = 0; i < dead; ++i)
                if (procs[i] == id) return false;
            return true;
        });
    }
    // The kernel outlives this scene's members and may still signal while detaching.
    ~CrowdScene() { k.set_liveness_probe(nullptr); }
    // Every process creates or opens the object named "crowd" of `type` (a manual-reset event
    // with `manual`; process 0's thread 1 owns a mutex) and parks its waits on it.
    HandleValue park(ObjectType type, bool manual = false) {
        const std::u16string name = u"crowd";
        HandleValue h{};
        for (ProcessId p : procs) {
            LastError le;
            auto r = type == ObjectType::Event   ? k.create_event(p, manual, false, &name, le)
                     : type == ObjectType::Mutex ? k.create_mutex({p, 1}, p == procs[0], &name, le)
                                                 : k.create_semaphore(p, 0, 1000, &name, le);
            REQUIRE(r.ok());
            h = r.value();
        }
        uint64_t tag = 1;
        size_t completed_at_once = 0;
        for (int w = 0; w < kWaitsEach; ++w, ++tag)
            for (size_t i = 0; i < procs.size(); ++i)
                completed_at_once += k.wait({procs[i], static_cast<uint32_t>(100 + w)},
                                            std::vector{h}, false, proto::kWaitInfinite, tag)
                                         .has_value();
        REQUIRE(completed_at_once == 0);
        REQUIRE(k.pending_waits() == kProcesses * kWaitsEach);
        probes = 0;
        return h;
    }
    size_t completed() { return k.take_completions().size(); }
};

}  // namespace

TEST_CASE("SetEvent and PulseEvent probe only the waiter they release", "[unit][sync][quota]") {
    CrowdScene s;
    SECTION("auto-reset") {
        auto e = s.park(ObjectType::Event);
        REQUIRE(s.k.set_event(s.procs[0], e, EventOp::Set).ok());
        CHECK(s.completed() == 1);
        CHECK(s.probes == 1);
        s.probes = 0;
        REQUIRE(s.k.set_event(s.procs[0], e, EventOp::Pulse).ok());
        CHECK(s.completed() == 1);
        CHECK(s.probes == 1);
        // Waits of processes that are gone are skipped: the next waits are those of processes
        // 2..29, gone (one probe each), then process 30 takes the signal.
        s.dead = 30;
        s.probes = 0;
        REQUIRE(s.k.set_event(s.procs[0], e, EventOp::Set).ok());
        CHECK(s.completed() == 1);
        CHECK(s.probes == 28 + 1);
    }
    SECTION("manual-reset: nothing is spent, so nothing is asked") {
        auto e = s.park(ObjectType::Event, true);
        REQUIRE(s.k.set_event(s.procs[0], e, EventOp::Pulse).ok());
        CHECK(s.completed() == kProcesses * kWaitsEach);
        CHECK(s.probes == 0);
        CHECK(s.k.pending_waits() == 0);
    }
}

TEST_CASE("ReleaseSemaphore and ReleaseMutex probe only the waiters they complete",
          "[unit][sync][quota]") {
    CrowdScene s;
    SECTION("semaphore") {
        auto sem = s.park(ObjectType::Semaphore);
        REQUIRE(s.k.release_semaphore(s.procs[0], sem, 5).ok());
        CHECK(s.completed() == 5);
        CHECK(s.probes == 5);
        // With gone processes in front: each is asked once per signal, however many waits it
        // has parked (memoised), and the units go to the living.
        s.dead = 20;
        s.probes = 0;
        REQUIRE(s.k.release_semaphore(s.procs[0], sem, 300).ok());
        CHECK(s.completed() == 300);
        CHECK(s.probes == 20 + (kProcesses - 20));  // every process asked once
    }
    SECTION("mutex") {
        ThreadRef owner{s.procs[0], 1};
        auto m = s.park(ObjectType::Mutex);
        REQUIRE(s.k.release_mutex(owner, m).ok());
        CHECK(s.completed() == 1);
        CHECK(s.probes == 1);
    }
}
