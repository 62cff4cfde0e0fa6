// Events, mutexes, semaphores, waits and DuplicateHandle with the CE 5 personality, through
// cek::kernel::Kernel with fake processes and threads (docs/semantics/sync.md, names.md, handles.md §5). Pending waits
// are observed as the kernel's completions, exactly what the transport turns into replies.
#include <algorithm>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::ThreadRef;
using cek::kernel::WaitCompletion;
using proto::EventOp;

namespace {

struct SyncScene : Scene {
    using Scene::Scene;
    uint64_t next_tag = 1;

    HandleValue event(ProcessId p, bool manual, bool initial,
                      const std::u16string* name = nullptr) {
        LastError le;
        auto r = k.create_event(p, manual, initial, name, le);
        REQUIRE(r.ok());
        return r.value();
    }
    HandleValue mutex(ThreadRef t, bool owned, const std::u16string* name = nullptr) {
        LastError le;
        auto r = k.create_mutex(t, owned, name, le);
        REQUIRE(r.ok());
        return r.value();
    }
    HandleValue semaphore(ProcessId p, int32_t initial, int32_t maximum) {
        LastError le;
        auto r = k.create_semaphore(p, initial, maximum, nullptr, le);
        REQUIRE(r.ok());
        return r.value();
    }
    // A wait that must complete at once; returns its WAIT_* value.
    uint32_t wait_now(ThreadRef t, std::vector<HandleValue> hs, uint32_t timeout = 0) {
        auto r = k.wait(t, hs, false, timeout, next_tag++);
        REQUIRE(r.has_value());
        REQUIRE(r->ok());
        return r->value();
    }
    // A wait that must stay pending; returns its tag.
    uint64_t wait_pending(ThreadRef t, std::vector<HandleValue> hs, uint32_t timeout = kInfinite) {
        uint64_t tag = next_tag++;
        auto r = k.wait(t, hs, false, timeout, tag);
        REQUIRE_FALSE(r.has_value());
        return tag;
    }
    std::vector<WaitCompletion> done() { return k.take_completions(); }
};

bool completed(const std::vector<WaitCompletion>& c, uint64_t tag, uint32_t result) {
    return std::any_of(c.begin(), c.end(),
                       [&](const WaitCompletion& w) { return w.tag == tag && w.result == result; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Events

TEST_CASE("An auto-reset event releases one waiter per SetEvent, oldest first",
          "[unit][sync][event]") {
    SyncScene s;
    auto p = s.attach();
    auto e = s.event(p, false, false);
    uint64_t first = s.wait_pending({p, 11}, {e});
    uint64_t second = s.wait_pending({p, 12}, {e});
    REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
    auto c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(completed(c, first, kWaitObject0));
    // The release consumed the signal.
    CHECK(s.wait_now({p, 13}, {e}) == kWaitTimeout);
    REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
    c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(completed(c, second, kWaitObject0));
    CHECK(s.k.pending_waits() == 0);
}

TEST_CASE("A manual-reset event releases every waiter and stays signalled",
          "[unit][sync][event]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"gate";
    auto e = s.event(p, true, false, &name);
    LastError le;
    REQUIRE(s.k.create_event(q, true, false, &name, le).ok());
    uint64_t a = s.wait_pending({p, 1}, {e});
    uint64_t b = s.wait_pending({q, 2}, {e});
    REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
    auto c = s.done();
    CHECK(c.size() == 2);
    CHECK(completed(c, a, kWaitObject0));
    CHECK(completed(c, b, kWaitObject0));
    CHECK(s.wait_now({p, 3}, {e}) == kWaitObject0);
    REQUIRE(s.k.set_event(p, e, EventOp::Reset).ok());
    CHECK(s.wait_now({p, 3}, {e}) == kWaitTimeout);
}

TEST_CASE("PulseEvent releases the current waiters and leaves the event nonsignalled",
          "[unit][sync][event]") {
    SyncScene s;
    auto p = s.attach();
    SECTION("manual reset: all waiters") {
        auto e = s.event(p, true, false);
        uint64_t a = s.wait_pending({p, 1}, {e});
        uint64_t b = s.wait_pending({p, 2}, {e});
        REQUIRE(s.k.set_event(p, e, EventOp::Pulse).ok());
        auto c = s.done();
        CHECK(completed(c, a, kWaitObject0));
        CHECK(completed(c, b, kWaitObject0));
        CHECK(s.wait_now({p, 3}, {e}) == kWaitTimeout);
    }
    SECTION("auto reset: one waiter") {
        auto e = s.event(p, false, false);
        uint64_t a = s.wait_pending({p, 1}, {e});
        s.wait_pending({p, 2}, {e});
        REQUIRE(s.k.set_event(p, e, EventOp::Pulse).ok());
        auto c = s.done();
        REQUIRE(c.size() == 1);
        CHECK(completed(c, a, kWaitObject0));
        CHECK(s.k.pending_waits() == 1);
    }
    SECTION("no waiter: the pulse is lost") {
        auto e = s.event(p, true, false);
        REQUIRE(s.k.set_event(p, e, EventOp::Pulse).ok());
        CHECK(s.wait_now({p, 3}, {e}) == kWaitTimeout);
    }
}

TEST_CASE("An event created signalled satisfies a wait at once", "[unit][sync][event]") {
    SyncScene s;
    auto p = s.attach();
    auto manual = s.event(p, true, true);
    auto automatic = s.event(p, false, true);
    CHECK(s.wait_now({p, 1}, {manual}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {manual}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {automatic}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {automatic}) == kWaitTimeout);
}

TEST_CASE("Event calls on other handles fail with ERROR_INVALID_HANDLE", "[unit][sync][event]") {
    SyncScene s;
    auto p = s.attach();
    auto other = s.attach();
    auto sem = s.semaphore(p, 0, 1);
    auto e = s.event(p, false, false);
    CHECK(error_of(s.k.set_event(p, sem, EventOp::Set)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.set_event(p, HandleValue{0x1234}, EventOp::Set)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    // A value the other process never opened.
    CHECK(error_of(s.k.set_event(other, e, EventOp::Set)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.set_event(p, e, static_cast<EventOp>(9))) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

// ---------------------------------------------------------------------------------------------
// Names

TEST_CASE("Sync names: same kind opens with ERROR_ALREADY_EXISTS, kinds do not collide",
          "[unit][sync][names]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"Lock";
    LastError le;
    auto e1 = s.k.create_event(p, true, false, &name, le);
    REQUIRE(e1.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    // Another process: the same event (CE 5: the same value), ERROR_ALREADY_EXISTS, initial
    // state ignored.
    le = {};
    auto e2 = s.k.create_event(q, false, true, &name, le);
    REQUIRE(e2.ok());
    CHECK(s.same_object(q, e2.value(), p, e1.value()));
    if (s.ce5()) CHECK(e2.value() == e1.value());
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(s.wait_now({q, 1}, {e2.value()}) == kWaitTimeout);
    // A mutex and a mapping of the same name are other objects (CE: one namespace per kind).
    le = {};
    auto m = s.k.create_mutex({p, 1}, false, &name, le);
    REQUIRE(m.ok());
    CHECK(m.value() != e1.value());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    le = {};
    auto map = s.k.create_mapping(p, HandleValue{ce::kInvalidHandle}, ce::kPageReadWrite, 0, 4096,
                                  &name, le);
    REQUIRE(map.ok());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    // Case-sensitive.
    std::u16string upper = u"LOCK";
    le = {};
    auto other = s.k.create_event(p, true, false, &upper, le);
    REQUIRE(other.ok());
    CHECK(other.value() != e1.value());
}

TEST_CASE("OpenEvent finds events by name only", "[unit][sync][names]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"Ready";
    auto e = s.event(p, true, false, &name);
    auto opened = s.k.open_sync(q, cek::kernel::ObjectType::Event, name);
    REQUIRE(opened.ok());
    CHECK(s.same_object(q, opened.value(), p, e));
    CHECK(error_of(s.k.open_sync(q, cek::kernel::ObjectType::Event, u"ready")) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(error_of(s.k.open_sync(q, cek::kernel::ObjectType::Mutex, name)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(error_of(s.k.open_sync(q, cek::kernel::ObjectType::Event, std::u16string(260, u'x'))) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // The name lives while any handle does: closing the creator's leaves q's.
    REQUIRE(s.k.close_handle(p, e).ok());
    auto again = s.k.open_sync(p, cek::kernel::ObjectType::Event, name);
    REQUIRE(again.ok());
    REQUIRE(s.k.close_handle(p, again.value()).ok());
    REQUIRE(s.k.close_handle(q, opened.value()).ok());
    CHECK(error_of(s.k.open_sync(q, cek::kernel::ObjectType::Event, name)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("Sync names longer than 259 characters are refused", "[unit][sync][names]") {
    SyncScene s;
    auto p = s.attach();
    std::u16string longest(259, u'n'), too_long(260, u'n');
    LastError le;
    CHECK(s.k.create_event(p, true, false, &longest, le).ok());
    CHECK(error_of(s.k.create_event(p, true, false, &too_long, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_mutex({p, 1}, false, &too_long, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_semaphore(p, 0, 1, &too_long, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // An empty name is a real name.
    std::u16string empty;
    auto a = s.k.create_event(p, true, false, &empty, le);
    REQUIRE(a.ok());
    auto b = s.k.create_event(p, true, false, &empty, le);
    REQUIRE(b.ok());
    CHECK(s.same_object(p, a.value(), p, b.value()));
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
}

// ---------------------------------------------------------------------------------------------
// Mutexes

TEST_CASE("A mutex is recursive for its owner and needs as many releases",
          "[unit][sync][mutex]") {
    SyncScene s;
    auto p = s.attach();
    ThreadRef owner{p, 100}, other{p, 200};
    auto m = s.mutex(owner, true);
    CHECK(s.wait_now(owner, {m}) == kWaitObject0);  // recursion 2
    CHECK(s.wait_now(other, {m}) == kWaitTimeout);
    uint64_t tag = s.wait_pending(other, {m});
    REQUIRE(s.k.release_mutex(owner, m).ok());
    CHECK(s.done().empty());
    REQUIRE(s.k.release_mutex(owner, m).ok());
    auto c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(completed(c, tag, kWaitObject0));
    // Now `other` owns it; the first owner is no longer allowed to release.
    CHECK(error_of(s.k.release_mutex(owner, m)) == Win32Error::ERROR_NOT_OWNER);
    REQUIRE(s.k.release_mutex(other, m).ok());
    CHECK(error_of(s.k.release_mutex(other, m)) == Win32Error::ERROR_NOT_OWNER);
}

TEST_CASE("ReleaseMutex by a thread that does not own it fails with ERROR_NOT_OWNER",
          "[unit][sync][mutex]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    auto m = s.mutex({p, 1}, false);
    CHECK(error_of(s.k.release_mutex({p, 1}, m)) == Win32Error::ERROR_NOT_OWNER);
    CHECK(s.wait_now({p, 1}, {m}) == kWaitObject0);
    CHECK(error_of(s.k.release_mutex({p, 2}, m)) == Win32Error::ERROR_NOT_OWNER);
    // The same tid in another process is another thread.
    REQUIRE(s.k.duplicate_handle(ThreadRef{p, 1}, 0x42, m, 0x42, proto::kDuplicateSameAccess,
                                  false)
                .ok());
    CHECK(error_of(s.k.release_mutex({q, 1}, m)) == Win32Error::ERROR_INVALID_HANDLE);
    auto e = s.event(p, false, false);
    CHECK(error_of(s.k.release_mutex({p, 1}, e)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A mutex owned by a dying process is abandoned to the next waiter",
          "[unit][sync][mutex]") {
    SyncScene s;
    auto dying = s.attach();
    auto next = s.attach();
    std::u16string name = u"db-lock";
    auto m = s.mutex({dying, 7}, true, &name);
    LastError le;
    REQUIRE(s.k.create_mutex({next, 8}, false, &name, le).ok());
    auto e = s.event(next, false, false);
    uint64_t tag = s.wait_pending({next, 8}, {e, m});
    s.k.detach_process(dying);
    auto c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(completed(c, tag, kWaitAbandoned0 + 1));
    // The new owner holds it normally; the abandonment is reported once.
    REQUIRE(s.k.release_mutex({next, 8}, m).ok());
    CHECK(s.wait_now({next, 8}, {m}) == kWaitObject0);
}

TEST_CASE("An abandoned mutex with no waiter reports WAIT_ABANDONED to the next wait",
          "[unit][sync][mutex]") {
    SyncScene s;
    auto dying = s.attach();
    auto next = s.attach();
    std::u16string name = u"m";
    s.mutex({dying, 1}, false, &name);
    LastError le;
    auto m = s.k.create_mutex({next, 2}, false, &name, le);
    REQUIRE(m.ok());
    CHECK(s.wait_now({dying, 1}, {m.value()}) == kWaitObject0);
    s.k.detach_process(dying);
    CHECK(s.wait_now({next, 2}, {m.value()}) == kWaitAbandoned0);
    CHECK(s.wait_now({next, 2}, {m.value()}) == kWaitObject0);  // recursion, not abandoned
}

TEST_CASE("CreateMutex on an existing name ignores the initial owner", "[unit][sync][mutex]") {
    SyncScene s;
    auto p = s.attach();
    std::u16string name = u"m";
    auto m = s.mutex({p, 1}, false, &name);
    LastError le;
    auto again = s.k.create_mutex({p, 2}, true, &name, le);
    REQUIRE(again.ok());
    CHECK(s.same_object(p, again.value(), p, m));
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(error_of(s.k.release_mutex({p, 2}, m)) == Win32Error::ERROR_NOT_OWNER);
}

// ---------------------------------------------------------------------------------------------
// Semaphores

TEST_CASE("CreateSemaphore checks its counts", "[unit][sync][semaphore]") {
    SyncScene s;
    auto p = s.attach();
    LastError le;
    CHECK(error_of(s.k.create_semaphore(p, -1, 1, nullptr, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_semaphore(p, 0, 0, nullptr, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_semaphore(p, 2, 1, nullptr, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.create_semaphore(p, 0, 1, nullptr, le).ok());
    CHECK(s.k.create_semaphore(p, INT32_MAX, INT32_MAX, nullptr, le).ok());
    // An existing name is opened whatever the counts (the lookup comes first).
    std::u16string name = u"sem";
    auto made = s.k.create_semaphore(p, 1, 2, &name, le);
    REQUIRE(made.ok());
    auto opened = s.k.create_semaphore(p, 5, 0, &name, le);
    REQUIRE(opened.ok());
    CHECK(s.same_object(p, opened.value(), p, made.value()));
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
}

TEST_CASE("ReleaseSemaphore returns the previous count and never passes the maximum",
          "[unit][sync][semaphore]") {
    SyncScene s;
    auto p = s.attach();
    auto sem = s.semaphore(p, 1, 3);
    auto r = s.k.release_semaphore(p, sem, 1);
    REQUIRE(r.ok());
    CHECK(r.value() == 1);
    CHECK(error_of(s.k.release_semaphore(p, sem, 2)) == Win32Error::ERROR_TOO_MANY_POSTS);
    CHECK(error_of(s.k.release_semaphore(p, sem, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.release_semaphore(p, sem, -1)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.release_semaphore(p, sem, INT32_MAX)) == Win32Error::ERROR_TOO_MANY_POSTS);
    CHECK(s.wait_now({p, 1}, {sem}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {sem}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {sem}) == kWaitTimeout);
    auto e = s.event(p, false, false);
    CHECK(error_of(s.k.release_semaphore(p, e, 1)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("Releasing a semaphore by N wakes N waiters in arrival order",
          "[unit][sync][semaphore]") {
    SyncScene s;
    auto p = s.attach();
    auto sem = s.semaphore(p, 0, 10);
    std::vector<uint64_t> tags;
    for (uint32_t t = 1; t <= 5; ++t) tags.push_back(s.wait_pending({p, t}, {sem}));
    auto r = s.k.release_semaphore(p, sem, 3);
    REQUIRE(r.ok());
    CHECK(r.value() == 0);
    auto c = s.done();
    REQUIRE(c.size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(c[i].tag == tags[i]);
    CHECK(s.k.pending_waits() == 2);
}

// ---------------------------------------------------------------------------------------------
// Waits

TEST_CASE("WaitForMultipleObjects reports the lowest ready index", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto a = s.event(p, true, false);
    auto b = s.event(p, true, true);
    auto c = s.event(p, true, true);
    CHECK(s.wait_now({p, 1}, {a, b, c}) == kWaitObject0 + 1);
    uint64_t tag = s.wait_pending({p, 1}, {a, a});  // duplicates are allowed for wait-any
    REQUIRE(s.k.set_event(p, a, EventOp::Set).ok());
    CHECK(completed(s.done(), tag, kWaitObject0));
}

TEST_CASE("Wait parameter errors, with CE's codes", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto e = s.event(p, true, false);
    auto fail = [&](std::vector<HandleValue> hs, bool all) {
        auto r = s.k.wait({p, 1}, hs, all, 0, 99);
        REQUIRE(r.has_value());
        return error_of(*r);
    };
    CHECK(fail({}, false) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(fail(std::vector<HandleValue>(65, e), false) == Win32Error::ERROR_INVALID_PARAMETER);
    // CE: fWaitAll must be FALSE.
    CHECK(fail({e}, true) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(fail({e, HandleValue{0x1236}}, false) == Win32Error::ERROR_INVALID_HANDLE);
    // Files, mappings and searches are not waitable.
    LastError le;
    auto map = s.k.create_mapping(p, HandleValue{ce::kInvalidHandle}, ce::kPageReadWrite, 0,
                                  4096, nullptr, le);
    REQUIRE(map.ok());
    CHECK(fail({map.value()}, false) == Win32Error::ERROR_INVALID_HANDLE);
    // GetCurrentThread() is no object to wait on; GetCurrentProcess() is the caller's own
    // process, signalled only once it has ended.
    CHECK(fail({HandleValue{ce::kCurrentThreadHandle}}, false) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.wait_now({p, 1}, {HandleValue{ce::kCurrentProcessHandle}}) == kWaitTimeout);
    CHECK(s.wait_now({p, 1}, std::vector<HandleValue>(64, e)) == kWaitTimeout);
    CHECK(s.k.pending_waits() == 0);
}

TEST_CASE("A wait times out at its deadline and not before", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto e = s.event(p, false, false);
    uint64_t tag = s.wait_pending({p, 1}, {e}, 50);
    uint64_t forever = s.wait_pending({p, 2}, {e}, kInfinite);
    auto deadline = s.k.next_wait_deadline();
    REQUIRE(deadline.has_value());
    s.k.expire_waits(*deadline - 1);
    CHECK(s.done().empty());
    s.k.expire_waits(*deadline);
    auto c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(completed(c, tag, kWaitTimeout));
    // INFINITE never expires.
    CHECK_FALSE(s.k.next_wait_deadline().has_value());
    s.k.expire_waits(UINT64_MAX);
    CHECK(s.done().empty());
    REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
    CHECK(completed(s.done(), forever, kWaitObject0));
}

TEST_CASE("A timed-out or cancelled wait has taken nothing", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto sem = s.semaphore(p, 0, 5);
    uint64_t tag = s.wait_pending({p, 1}, {sem}, 10);
    uint64_t cancelled = s.wait_pending({p, 2}, {sem});
    s.k.expire_waits(UINT64_MAX);
    CHECK(completed(s.done(), tag, kWaitTimeout));
    s.k.cancel_wait(p, cancelled);
    CHECK(s.k.pending_waits() == 0);
    REQUIRE(s.k.release_semaphore(p, sem, 1).ok());
    CHECK(s.done().empty());
    CHECK(s.wait_now({p, 3}, {sem}) == kWaitObject0);
}

TEST_CASE("A dying process's waits vanish and take nothing", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"ev";
    auto e = s.event(p, false, false, &name);
    LastError le;
    REQUIRE(s.k.create_event(q, false, false, &name, le).ok());
    s.wait_pending({q, 1}, {e});
    uint64_t survivor = s.wait_pending({p, 1}, {e});
    s.k.detach_process(q);
    CHECK(s.k.pending_waits() == 1);
    REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
    auto c = s.done();
    REQUIRE(c.size() == 1);
    CHECK(c[0].process == p);
    CHECK(c[0].tag == survivor);
}

TEST_CASE("Waiting keeps a closed object alive for the wait", "[unit][sync][wait]") {
    SyncScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"kept";
    auto e = s.event(p, false, false, &name);
    LastError le;
    REQUIRE(s.k.create_event(q, false, false, &name, le).ok());
    uint64_t tag = s.wait_pending({p, 1}, {e});
    REQUIRE(s.k.close_handle(p, e).ok());
    REQUIRE(s.k.set_event(q, e, EventOp::Set).ok());
    CHECK(completed(s.done(), tag, kWaitObject0));
}

// ---------------------------------------------------------------------------------------------
// DuplicateHandle (CE 5)

TEST_CASE("DuplicateHandle follows CE 5: sync objects only, same value, SAME_ACCESS required",
          "[unit][sync][duplicate][ce5]") {
    // CE 6's DuplicateHandle: tests/unit/ce6_handles_test.cpp.
    SyncScene s(config_of(5));
    auto p = s.attach();
    auto e = s.event(p, false, false);
    constexpr uint32_t kSelf = proto::kCurrentProcessHandle;
    auto dup = s.k.duplicate_handle(ThreadRef{p, 1}, kSelf, e, kSelf, proto::kDuplicateSameAccess,
                                    false);
    REQUIRE(dup.ok());
    CHECK(dup.value() == e);
    CHECK(s.k.handles().references_of(e, p) == 2);
    // CLOSE_SOURCE: the count stays.
    auto moved = s.k.duplicate_handle(ThreadRef{p, 1}, kSelf, e, kSelf,
                                      proto::kDuplicateSameAccess | proto::kDuplicateCloseSource,
                                      false);
    REQUIRE(moved.ok());
    CHECK(s.k.handles().references_of(e, p) == 2);
    auto invalid = [&](uint32_t sp, HandleValue h, uint32_t tp, uint32_t options, bool inherit) {
        return error_of(s.k.duplicate_handle(ThreadRef{p, 1}, sp, h, tp, options, inherit));
    };
    constexpr auto kBad = Win32Error::ERROR_INVALID_PARAMETER;
    CHECK(invalid(kSelf, e, kSelf, 0, false) == kBad);
    CHECK(invalid(kSelf, e, kSelf, proto::kDuplicateSameAccess | 4, false) == kBad);
    CHECK(invalid(kSelf, e, kSelf, proto::kDuplicateSameAccess, true) == kBad);
    CHECK(invalid(0x1234, e, kSelf, proto::kDuplicateSameAccess, false) == kBad);
    CHECK(invalid(kSelf, e, 0x1234, proto::kDuplicateSameAccess, false) == kBad);
    CHECK(invalid(kSelf, HandleValue{0x5556}, kSelf, proto::kDuplicateSameAccess, false) == kBad);
    LastError le;
    auto map = s.k.create_mapping(p, HandleValue{ce::kInvalidHandle}, ce::kPageReadWrite, 0,
                                  4096, nullptr, le);
    REQUIRE(map.ok());
    CHECK(invalid(kSelf, map.value(), kSelf, proto::kDuplicateSameAccess, false) == kBad);
    CHECK(s.k.handles().references_of(e, p) == 2);
}

// ---------------------------------------------------------------------------------------------
// Clean-up and diagnostics

TEST_CASE("Process exit releases every sync object and name", "[unit][sync][cleanup]") {
    SyncScene s;
    auto p = s.attach();
    std::u16string a = u"a", b = u"b", c = u"c";
    s.event(p, true, true, &a);
    s.mutex({p, 1}, true, &b);
    LastError le;
    REQUIRE(s.k.create_semaphore(p, 1, 1, &c, le).ok());
    s.wait_pending({p, 2}, {s.event(p, false, false)});
    s.k.detach_process(p);
    CHECK(s.object_handles() == 0);
    CHECK(s.k.pending_waits() == 0);
    CHECK(s.done().empty());
    auto q = s.attach();
    CHECK(error_of(s.k.open_sync(q, cek::kernel::ObjectType::Event, a)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("The snapshot shows sync objects, owners and waits", "[unit][sync][snapshot]") {
    SyncScene s;
    auto p = s.attach();
    auto m = s.mutex({p, 41}, true);
    auto e = s.event(p, false, false);
    s.wait_pending({p, 42}, {e, m}, 5000);
    auto snap = s.k.snapshot();
    auto find = [&](const std::string& type) -> const proto::ObjectInfo* {
        for (const auto& o : snap.objects)
            if (o.type == type) return &o;
        return nullptr;
    };
    auto detail = [](const proto::ObjectInfo* o, const std::string& key) {
        for (const auto& [k, v] : o->details)
            if (k == key) return v;
        return std::string("<none>");
    };
    const auto* mutex = find("mutex");
    REQUIRE(mutex != nullptr);
    CHECK(detail(mutex, "owner") == "process " + std::to_string(p.raw) + " tid 41");
    CHECK(detail(mutex, "waiters") == "1");
    const auto* event = find("event");
    REQUIRE(event != nullptr);
    CHECK(detail(event, "state") == "nonsignaled");
    REQUIRE(snap.waits.size() == 1);
    CHECK(snap.waits[0].process_id == p.raw);
    CHECK(snap.waits[0].thread_id == 42);
    CHECK(snap.waits[0].handles == std::vector<uint32_t>{e.raw, m.raw});
    CHECK(snap.waits[0].timeout_ms == 5000);
}

// ---------------------------------------------------------------------------------------------
// A process that died a moment ago is detached only when the transport reads its hang-up; until
// then its waits are still listed, and the liveness probe keeps them from taking a signal.

TEST_CASE("The waits of a process that is gone but not yet detached take no signal",
          "[unit][sync][death]") {
    SyncScene s;
    auto p = s.attach();
    auto gone = s.attach();
    s.k.set_liveness_probe([&](ProcessId id) { return id != gone; });
    LastError le;

    SECTION("auto-reset event: the live waiter behind the dead one is released") {
        std::u16string name = u"lost-wakeup";
        auto e = s.event(p, false, false, &name);
        REQUIRE(s.k.create_event(gone, false, false, &name, le).ok());
        s.wait_pending({gone, 1}, {e});
        uint64_t live_wait = s.wait_pending({p, 2}, {e});
        REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
        auto c = s.done();
        REQUIRE(c.size() == 1);
        CHECK(completed(c, live_wait, kWaitObject0));
        // Only the dead waiter is left: the next signal stays in the event.
        REQUIRE(s.k.set_event(p, e, EventOp::Set).ok());
        CHECK(s.done().empty());
        CHECK(s.wait_now({p, 3}, {e}) == kWaitObject0);
    }
    SECTION("mutex: ownership passes over the dead waiter") {
        std::u16string name = u"lost-owner";
        auto m = s.mutex({p, 1}, true, &name);
        REQUIRE(s.k.create_mutex({gone, 5}, false, &name, le).ok());
        s.wait_pending({gone, 5}, {m});
        uint64_t live_wait = s.wait_pending({p, 2}, {m});
        REQUIRE(s.k.release_mutex({p, 1}, m).ok());
        auto c = s.done();
        REQUIRE(c.size() == 1);
        CHECK(completed(c, live_wait, kWaitObject0));
        REQUIRE(s.k.release_mutex({p, 2}, m).ok());
        CHECK(s.done().empty());  // free, not given to the dead process
        CHECK(s.wait_now({p, 3}, {m}) == kWaitObject0);
    }
    SECTION("semaphore: the count goes to the live waiter") {
        std::u16string name = u"lost-count";
        auto made = s.k.create_semaphore(p, 0, 1, &name, le);
        REQUIRE(made.ok());
        const HandleValue sem = made.value();
        REQUIRE(s.k.create_semaphore(gone, 0, 1, &name, le).ok());
        s.wait_pending({gone, 1}, {sem});
        uint64_t live_wait = s.wait_pending({p, 2}, {sem});
        REQUIRE(s.k.release_semaphore(p, sem, 1).ok());
        auto c = s.done();
        REQUIRE(c.size() == 1);
        CHECK(completed(c, live_wait, kWaitObject0));
        REQUIRE(s.k.release_semaphore(p, sem, 1).ok());
        CHECK(s.done().empty());  // the count stays for the living
        CHECK(s.wait_now({p, 3}, {sem}) == kWaitObject0);
    }
    s.k.detach_process(gone);  // the hang-up is read: its waits go, having taken nothing
    CHECK(s.k.pending_waits() == 0);
}
