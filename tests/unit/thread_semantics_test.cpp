// Threads with the CE 5 personality, through cek::kernel::Kernel with fake processes and
// threads: one test per row of ce-kernel-objects.md §1.4 and §2 that the kernel decides
// (docs/semantics/threads.md), each with its exact error code.
#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "protocol/mutex_word.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::ThreadRef;
using cek::kernel::ThreadState;

namespace {

constexpr uint32_t kStillActive = 0x103;
constexpr HandleValue kSelf{ce::kCurrentThreadHandle};

struct ThreadScene : WaitScene {
    using WaitScene::WaitScene;

    HandleValue create(ProcessId p, uint32_t flags = 0) {
        auto r = k.create_thread(p, flags, 0);
        REQUIRE(r.ok());
        // CE 5: the id is the handle value; CE 6: an even value of its own.
        if (ce5()) CHECK(r.value().id == r.value().handle.raw);
        else CHECK(r.value().id % 2 == 0);
        ids[{p.raw, r.value().handle.raw}] = r.value().id;
        return r.value().handle;
    }
    // The id of the thread `h` names in `p` (CreateThread's lpThreadId).
    uint32_t id_of(ProcessId p, HandleValue h) const { return ids.at({p.raw, h.raw}); }
    // A created thread that starts running as Linux thread `tid`: the shim names it by its id.
    HandleValue start(ProcessId p, uint32_t tid, uint32_t flags = 0) {
        HandleValue h = create(p, flags);
        auto r = k.attach_thread({p, tid}, HandleValue{id_of(p, h)});
        REQUIRE(r.ok());
        CHECK(r.value().id == id_of(p, h));
        CHECK(r.value().tid == tid);
        return h;
    }
    // A handle of `q` for the thread `h` names in `p`: the same value in CE 5, OpenThread by
    // id in CE 6.
    HandleValue handle_in(ProcessId q, ProcessId p, HandleValue h) {
        if (ce5()) return h;
        auto r = k.open_thread(q, id_of(p, h), false);
        REQUIRE(r.ok());
        return r.value();
    }
    uint32_t exit_code(ProcessId p, HandleValue h) {
        auto r = k.thread_exit_code({p, 1}, h);
        REQUIRE(r.ok());
        return r.value();
    }
    uint32_t query(ProcessId p, HandleValue h, ce::ThreadOp op, uint32_t value = 0) {
        auto r = k.thread_priority({p, 1}, h, op, value);
        REQUIRE(r.ok());
        return r.value();
    }
    Win32Error query_error(ProcessId p, HandleValue h, ce::ThreadOp op, uint32_t value = 0) {
        return error_of(k.thread_priority({p, 1}, h, op, value));
    }

    std::map<std::pair<uint32_t, uint32_t>, uint32_t> ids;  // (process, handle) -> thread id
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// §2.1 CreateThread

TEST_CASE("CreateThread accepts only CREATE_SUSPENDED and STACK_SIZE_PARAM_IS_A_RESERVATION",
          "[unit][thread][create]") {
    ThreadScene s;
    auto p = s.attach();
    CHECK(error_of(s.k.create_thread(p, 0x1, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_thread(p, 0x8, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_thread(p, 0x20000, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    // The flags are checked before the size.
    CHECK(error_of(s.k.create_thread(p, 0x10001, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.create_thread(p, ce::kCreateSuspended, 0).ok());
    CHECK(s.k.create_thread(p, ce::kCreateSuspended | 0x10000, 65536).ok());
}

TEST_CASE("CreateThread's reservation must be positive as a signed value; without the flag the "
          "size is ignored", "[unit][thread][create][ce5]") {
    // CE 6 takes a reservation of 0 as the default stack: tests/api/api_thread.c.
    ThreadScene s(config_of(5));
    auto p = s.attach();
    CHECK(error_of(s.k.create_thread(p, 0x10000, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.create_thread(p, 0x10000, 0x80000000u)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.create_thread(p, 0x10000, 1).ok());
    CHECK(s.k.create_thread(p, 0, 0x80000000u).ok());  // ignored
    CHECK(s.k.create_thread(p, 0, 0).ok());
}

TEST_CASE("CreateThread from a process that is not attached: ERROR_INVALID_HANDLE",
          "[unit][thread][create]") {
    ThreadScene s;
    CHECK(error_of(s.k.create_thread(ProcessId{77}, 0, 0)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A thread's id is its handle value; the handle outlives a close until the thread "
          "exits", "[unit][thread][identity][ce5]") {
    // CE 6's separate ids: tests/unit/ce6_handles_test.cpp.
    ThreadScene s(config_of(5));
    auto p = s.attach();
    HandleValue h = s.start(p, 501);
    // GetCurrentThreadId of the new thread: the same value.
    auto me = s.k.attach_thread({p, 501}, HandleValue{0});
    REQUIRE(me.ok());
    CHECK(me.value().id == h.raw);
    // The creator closes its handle: the id stays valid while the thread runs.
    REQUIRE(s.k.close_handle(p, h).ok());
    CHECK(s.exit_code(p, h) == kStillActive);
    CHECK(error_of(s.k.close_handle(p, h)) == Win32Error::ERROR_INVALID_HANDLE);
    // Exit: its own reference goes, and with it the value.
    s.k.exit_thread({p, 501}, 7);
    CHECK(error_of(s.k.thread_exit_code({p, 1}, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A thread the kernel has not met is adopted on first need, once",
          "[unit][thread][identity]") {
    ThreadScene s;
    auto p = s.attach();
    auto a = s.k.attach_thread({p, 900}, HandleValue{0});
    REQUIRE(a.ok());
    auto b = s.k.attach_thread({p, 900}, HandleValue{0});
    REQUIRE(b.ok());
    CHECK(a.value().id == b.value().id);
    CHECK(a.value().tid == 900);
    // GetCurrentThread() resolves to the same thread.
    CHECK(s.k.thread_priority({p, 900}, kSelf, ce::ThreadOp::CeGetPriority, 0).value() == 251);
    auto other = s.k.attach_thread({p, 901}, HandleValue{0});
    REQUIRE(other.ok());
    CHECK(other.value().id != a.value().id);
}

TEST_CASE("A created thread binds only once, and only in its own process",
          "[unit][thread][identity]") {
    ThreadScene s;
    auto p = s.attach();
    auto q = s.attach();
    const HandleValue id{s.id_of(p, s.create(p))};
    CHECK(error_of(s.k.attach_thread({q, 5}, id)) == Win32Error::ERROR_INVALID_PARAMETER);
    REQUIRE(s.k.attach_thread({p, 5}, id).ok());
    CHECK(error_of(s.k.attach_thread({p, 6}, id)) == Win32Error::ERROR_INVALID_PARAMETER);
}

// ---------------------------------------------------------------------------------------------
// §1.4 exit codes and waits

TEST_CASE("GetExitCodeThread: STILL_ACTIVE, then the first recorded code",
          "[unit][thread][exit]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue h = s.start(p, 10);
    CHECK(s.exit_code(p, h) == kStillActive);
    s.k.exit_thread({p, 10}, 42);
    CHECK(s.exit_code(p, h) == 42);
    // A later kill does not overwrite it.
    auto t = s.k.terminate_thread({p, 1}, h, 99);
    REQUIRE(t.ok());
    CHECK(s.exit_code(p, h) == 42);
    CHECK(error_of(s.k.thread_exit_code({p, 1}, HandleValue{0x1234})) ==
          Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A thread handle is signalled once the thread is gone and stays signalled",
          "[unit][thread][wait]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue h = s.start(p, 10);
    CHECK(s.wait_now({p, 1}, {h}) == kWaitTimeout);
    uint64_t a = s.wait_pending({p, 1}, {h});
    uint64_t b = s.wait_pending({p, 2}, {h});
    s.k.exit_thread({p, 10}, 0);
    auto done = s.k.take_completions();
    CHECK(done.size() == 2);
    (void)a;
    (void)b;
    CHECK(s.wait_now({p, 1}, {h}) == kWaitObject0);
    CHECK(s.wait_now({p, 2}, {h}) == kWaitObject0);
}

TEST_CASE("WaitForMultipleObjects mixes a thread, an event and a mutex",
          "[unit][thread][wait]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    LastError le;
    HandleValue ev = s.k.create_event(p, false, false, nullptr, le).value();
    HandleValue mx = s.k.create_mutex({p, 11}, true, nullptr, le).value();
    uint64_t tag = s.wait_pending({p, 1}, {ev, mx, t});
    s.k.exit_thread({p, 10}, 3);
    CHECK(s.completed(tag, kWaitObject0 + 2));
    // The lowest index that is ready wins.
    REQUIRE(s.k.set_event(p, ev, ce::EventOp::Set).ok());
    CHECK(s.wait_now({p, 1}, {t, ev}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {ev}) == kWaitObject0);  // the thread's turn spent nothing
    tag = s.wait_pending({p, 1}, {ev, mx});
    REQUIRE(s.k.release_mutex({p, 11}, mx).ok());
    CHECK(s.completed(tag, kWaitObject0 + 1));
}

TEST_CASE("Another process waits on a thread by its id (CE 5 ids are global)",
          "[unit][thread][wait][ce5]") {
    // CE 6: another process's value means nothing (tests/unit/ce6_handles_test.cpp).
    ThreadScene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    HandleValue t = s.start(a, 10);
    uint64_t tag = s.wait_pending({b, 20}, {t});
    CHECK(s.k.thread_exit_code({b, 20}, t).value() == kStillActive);
    s.k.exit_thread({a, 10}, 5);
    CHECK(s.completed(tag, kWaitObject0));
}

TEST_CASE("A process that dies takes its threads along: exit code 0, waiters wake",
          "[unit][thread][exit]") {
    ThreadScene s;
    auto a = s.attach();
    auto b = s.attach();
    HandleValue t1 = s.handle_in(b, a, s.start(a, 10));
    HandleValue t2 = s.handle_in(b, a, s.create(a, ce::kCreateSuspended));  // never started
    uint64_t w1 = s.wait_pending({b, 20}, {t1});
    uint64_t w2 = s.wait_pending({b, 21}, {t2});
    s.k.detach_process(a);
    auto done = s.k.take_completions();
    REQUIRE(done.size() == 2);
    for (const auto& c : done) {
        CHECK((c.tag == w1 || c.tag == w2));
        CHECK(c.result == kWaitObject0);
        CHECK_FALSE(c.failed);
    }
    if (!s.ce5()) {  // b's own handles keep the ended threads until it closes them
        REQUIRE(s.k.close_handle(b, t1).ok());
        REQUIRE(s.k.close_handle(b, t2).ok());
    }
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A thread that exits owning a mutex abandons it at once", "[unit][thread][mutex]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    LastError le;
    HandleValue mx = s.k.create_mutex({p, 10}, true, nullptr, le).value();
    HandleValue other = s.k.create_mutex({p, 12}, true, nullptr, le).value();
    uint64_t tag = s.wait_pending({p, 11}, {mx});
    s.k.exit_thread({p, 10}, 0);
    CHECK(s.completed(tag, kWaitAbandoned0));
    // A mutex of another thread of the same process is not touched.
    CHECK(s.wait_now({p, 11}, {other}) == kWaitTimeout);
    (void)t;
}

TEST_CASE("A thread that exits owning a mutex through its shared word abandons it at once",
          "[unit][thread][mutex][word]") {
    ThreadScene s;
    s.k.set_thread_id_check([](int) { return true; });  // made-up pids: their ids are taken as is
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    LastError le;
    HandleValue mx = s.k.create_mutex({p, 1}, false, nullptr, le).value();
    HandleValue other = s.k.create_mutex({p, 1}, false, nullptr, le).value();
    // Both words mapped as the shim maps them; thread 10 takes one, thread 12 the other.
    MappedMutexWord mapped(s.k, p, mx), mapped_other(s.k, p, other);
    std::atomic<uint64_t>* w = &mapped.word();
    std::atomic<uint64_t>* w_other = &mapped_other.word();
    REQUIRE(proto::mutex_word_acquire(*w, 10));
    REQUIRE(proto::mutex_word_acquire(*w_other, 12));
    SECTION("a waiter parked before the exit") {
        // The waiter's wait took the word over: only the exit's own look can wake it.
        uint64_t tag = s.wait_pending({p, 11}, {mx});
        s.k.publish_mutex_words();
        s.k.exit_thread({p, 10}, 0);
        s.k.publish_mutex_words();
        CHECK(s.completed(tag, kWaitAbandoned0));
        CHECK(*w == proto::mutex_word(11, 1));
    }
    SECTION("the next wait") {
        s.k.exit_thread({p, 10}, 0);
        s.k.publish_mutex_words();
        CHECK(s.wait_now({p, 11}, {mx}) == kWaitAbandoned0);
    }
    // A mutex of another thread of the same process is not touched.
    CHECK(*w_other == proto::mutex_word(12, 1));
    (void)t;
}

TEST_CASE("TerminateThread ends a parked wait with ERROR_OPERATION_ABORTED and abandons the "
          "thread's mutexes", "[unit][thread][terminate]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    LastError le;
    HandleValue ev = s.k.create_event(p, false, false, nullptr, le).value();
    HandleValue mx = s.k.create_mutex({p, 10}, true, nullptr, le).value();
    uint64_t parked = s.wait_pending({p, 10}, {ev});
    uint64_t waiter = s.wait_pending({p, 11}, {mx});
    uint64_t on_thread = s.wait_pending({p, 12}, {t});
    auto r = s.k.terminate_thread({p, 1}, t, 77);
    REQUIRE(r.ok());
    CHECK(r.value().exited);
    bool aborted = false, abandoned = false, signalled = false;
    for (const auto& c : s.k.take_completions()) {
        if (c.tag == parked) aborted = c.failed && c.error == Win32Error::ERROR_OPERATION_ABORTED;
        if (c.tag == waiter) abandoned = c.result == kWaitAbandoned0;
        if (c.tag == on_thread) signalled = c.result == kWaitObject0;
    }
    CHECK(aborted);
    CHECK(abandoned);
    CHECK(signalled);
    CHECK(s.k.pending_waits() == 0);
    // The event's signal is not spent on the terminated thread.
    REQUIRE(s.k.set_event(p, ev, ce::EventOp::Set).ok());
    CHECK(s.wait_now({p, 11}, {ev}) == kWaitObject0);
    CHECK(s.exit_code(p, t) == 77);
    // An exited thread: no error, the first code stays.
    REQUIRE(s.k.terminate_thread({p, 1}, t, 5).ok());
    CHECK(s.exit_code(p, t) == 77);
}

// ---------------------------------------------------------------------------------------------
// §2.2 suspend and resume

TEST_CASE("SuspendThread and ResumeThread return the previous count; the limit is 127 "
          "(ERROR_SIGNAL_REFUSED)", "[unit][thread][suspend]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    for (uint32_t i = 0; i < 127; ++i) {
        auto r = s.k.suspend_thread({p, 1}, t);
        REQUIRE(r.ok());
        CHECK(r.value().previous == i);
        CHECK(r.value().count == i + 1);
    }
    CHECK(error_of(s.k.suspend_thread({p, 1}, t)) == Win32Error::ERROR_SIGNAL_REFUSED);
    auto r = s.k.resume_thread({p, 1}, t);
    REQUIRE(r.ok());
    CHECK(r.value().previous == 127);
    CHECK(r.value().count == 126);
}

TEST_CASE("ResumeThread of a thread that is not suspended returns 0 without error",
          "[unit][thread][suspend]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    auto r = s.k.resume_thread({p, 1}, t);
    REQUIRE(r.ok());
    CHECK(r.value().previous == 0);
    CHECK(r.value().count == 0);
}

TEST_CASE("CREATE_SUSPENDED starts with count 1; each change bumps the sequence",
          "[unit][thread][suspend]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.create(p, ce::kCreateSuspended);
    auto a = s.k.attach_thread({p, 10}, HandleValue{s.id_of(p, t)});
    REQUIRE(a.ok());
    CHECK(a.value().count == 1);
    auto r = s.k.resume_thread({p, 1}, t);
    REQUIRE(r.ok());
    CHECK(r.value().previous == 1);
    CHECK(r.value().count == 0);
    CHECK(r.value().sequence > a.value().sequence);
}

TEST_CASE("Suspend and resume: bad handle or exited thread ERROR_INVALID_HANDLE",
          "[unit][thread][suspend]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    CHECK(error_of(s.k.suspend_thread({p, 1}, HandleValue{0x1234})) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.resume_thread({p, 1}, HandleValue{0x1234})) ==
          Win32Error::ERROR_INVALID_HANDLE);
    HandleValue keep = t;
    REQUIRE(s.k.suspend_thread({p, 1}, keep).ok());  // the creator's handle stays
    s.k.exit_thread({p, 10}, 0);
    CHECK(error_of(s.k.suspend_thread({p, 1}, keep)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.resume_thread({p, 1}, keep)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A thread of another host process is stopped by that process's agent: the caller "
          "waits for its report", "[unit][thread][suspend][remote]") {
    ThreadScene s;
    auto p = s.attach();
    auto q = s.attach();  // another host process
    HandleValue pt = s.start(p, 10);
    HandleValue t = s.handle_in(q, p, pt);
    // Until p's connection has its notice eventfd, nothing can wake its agent: refused.
    CHECK(error_of(s.k.suspend_thread({q, 7}, t, 41)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(error_of(s.k.terminate_thread({q, 7}, t, 0, 41)) == Win32Error::ERROR_ACCESS_DENIED);
    CHECK(s.k.take_pokes().empty());
    s.k.agent_ready(p);
    CHECK(error_of(s.k.take_remote_control(p)) == Win32Error::ERROR_NO_MORE_ITEMS);

    // A suspend: the count goes up now, the caller's answer waits for p's agent.
    auto r = s.k.suspend_thread({q, 7}, t, 42);
    REQUIRE(r.ok());
    CHECK(r.value().deferred);
    CHECK(r.value().previous == 0);
    CHECK(r.value().count == 1);
    CHECK_FALSE(r.value().caller);
    auto pokes = s.k.take_pokes();
    REQUIRE(pokes.size() == 1);
    CHECK(pokes[0] == p);
    CHECK(error_of(s.k.take_remote_control(q)) == Win32Error::ERROR_NO_MORE_ITEMS);
    auto c = s.k.take_remote_control(p);
    REQUIRE(c.ok());
    CHECK(c.value().op == ce::ThreadControlOp::Suspend);
    CHECK(c.value().state.id == s.id_of(p, pt));
    CHECK(c.value().state.count == 1);
    CHECK(c.value().state.sequence == r.value().sequence);
    REQUIRE(c.value().token != 0);
    CHECK(error_of(s.k.take_remote_control(p)) == Win32Error::ERROR_NO_MORE_ITEMS);
    CHECK(s.k.take_completions().empty());
    // Only the agent it was given to reports it, once.
    CHECK(error_of(s.k.remote_control_done(q, c.value().token)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    REQUIRE(s.k.remote_control_done(p, c.value().token).ok());
    CHECK(error_of(s.k.remote_control_done(p, c.value().token)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    auto done = s.k.take_completions();
    REQUIRE(done.size() == 1);
    CHECK(done[0].process == q);
    CHECK(done[0].tag == 42);
    CHECK(done[0].code == proto::RequestCode::ThreadControl);
    CHECK(done[0].thread_handle == s.id_of(p, pt));
    CHECK(done[0].thread_previous == 0);
    CHECK(done[0].thread_count == 1);
    CHECK_FALSE(done[0].failed);

    // A second suspend only counts; the resumes answer at once, and the one that ends the
    // suspension is queued for the agent with nobody waiting (token 0).
    REQUIRE(s.k.suspend_thread({q, 7}, t, 43).value().deferred);
    REQUIRE(s.k.remote_control_done(p, s.k.take_remote_control(p).value().token).ok());
    (void)s.k.take_completions();
    auto resumed = s.k.resume_thread({q, 7}, t);
    REQUIRE(resumed.ok());
    CHECK_FALSE(resumed.value().deferred);
    CHECK(resumed.value().previous == 2);
    CHECK(error_of(s.k.take_remote_control(p)) == Win32Error::ERROR_NO_MORE_ITEMS);
    resumed = s.k.resume_thread({q, 7}, t);
    CHECK(resumed.value().previous == 1);
    auto start = s.k.take_remote_control(p);
    REQUIRE(start.ok());
    CHECK(start.value().op == ce::ThreadControlOp::Resume);
    CHECK(start.value().token == 0);
    CHECK(start.value().state.count == 0);

    // Without a caller to answer (no tag), nothing waits.
    auto untagged = s.k.suspend_thread({q, 7}, t);
    REQUIRE(untagged.ok());
    CHECK_FALSE(untagged.value().deferred);
    (void)s.k.take_remote_control(p);
    REQUIRE(s.k.resume_thread({q, 7}, t).ok());
    (void)s.k.take_remote_control(p);

    // A terminate: the thread has ended when the caller is answered; the agent parks it.
    auto ended = s.k.terminate_thread({q, 7}, t, 77, 44);
    REQUIRE(ended.ok());
    CHECK(ended.value().deferred);
    CHECK(ended.value().exited);
    CHECK(s.exit_code(p, pt) == 77);
    auto end = s.k.take_remote_control(p);
    REQUIRE(end.ok());
    CHECK(end.value().op == ce::ThreadControlOp::Terminate);
    REQUIRE(s.k.remote_control_done(p, end.value().token).ok());
    done = s.k.take_completions();
    REQUIRE(done.size() == 1);
    CHECK(done[0].tag == 44);
    CHECK(done[0].thread_exited);
}

TEST_CASE("Callers waiting for an agent are answered when its process goes; a full queue is "
          "ERROR_BUSY", "[unit][thread][suspend][remote]") {
    ThreadScene s;
    auto p = s.attach();
    auto q = s.attach();
    s.k.agent_ready(p);
    HandleValue t = s.handle_in(q, p, s.start(p, 10));
    HandleValue u = s.handle_in(q, p, s.start(p, 11));
    REQUIRE(s.k.suspend_thread({q, 7}, t, 50).value().deferred);
    REQUIRE(s.k.take_remote_control(p).ok());  // taken, not reported
    REQUIRE(s.k.suspend_thread({q, 8}, u, 51).value().deferred);  // still queued
    CHECK(s.k.take_completions().empty());
    s.k.detach_process(p);
    auto done = s.k.take_completions();
    std::vector<uint64_t> tags;
    for (const auto& d : done)
        if (d.process == q) tags.push_back(d.tag);
    std::sort(tags.begin(), tags.end());
    CHECK(tags == std::vector<uint64_t>{50, 51});

    // A caller that withdrew its call, or died, is not answered.
    auto r = s.attach();
    s.k.agent_ready(r);
    HandleValue rv = s.start(r, 20);
    HandleValue v = s.handle_in(q, r, rv);
    auto w = s.attach();
    HandleValue wv = s.handle_in(w, r, rv);
    REQUIRE(s.k.suspend_thread({q, 7}, v, 60).value().deferred);
    s.k.cancel_wait(q, 60);
    REQUIRE(s.k.suspend_thread({w, 7}, wv, 61).value().deferred);
    s.k.detach_process(w);
    (void)s.k.take_completions();
    for (int i = 0; i < 2; ++i) {
        auto taken = s.k.take_remote_control(r);
        REQUIRE(taken.ok());
        REQUIRE(s.k.remote_control_done(r, taken.value().token).ok());
    }
    CHECK(s.k.take_completions().empty());
    REQUIRE(s.k.resume_thread({q, 7}, v).ok());
    REQUIRE(s.k.resume_thread({q, 7}, v).ok());
    (void)s.k.take_remote_control(r);
    CHECK(error_of(s.k.take_remote_control(r)) == Win32Error::ERROR_NO_MORE_ITEMS);
    // Each stop and each start is queued: the agent never takes them here; taken ones count.
    for (size_t i = 0; i < kernel::Kernel::kMaxRemoteControls / 2; ++i) {
        REQUIRE(s.k.suspend_thread({q, 7}, v).ok());
        REQUIRE(s.k.resume_thread({q, 7}, v).ok());
    }
    CHECK(error_of(s.k.suspend_thread({q, 7}, v)) == Win32Error::ERROR_BUSY);
    (void)s.k.take_remote_control(r);
    CHECK(s.k.suspend_thread({q, 7}, v).ok());
}

TEST_CASE("Sleep(INFINITE) is a self-suspend through GetCurrentThread()",
          "[unit][thread][suspend]") {
    ThreadScene s;
    auto p = s.attach();
    auto r = s.k.suspend_thread({p, 30}, kSelf);
    REQUIRE(r.ok());
    CHECK(r.value().previous == 0);
    CHECK(r.value().tid == 30);
    // Another thread names it by its id: a handle in CE 5, OpenThread's in CE 6.
    HandleValue h{r.value().id};
    if (!s.ce5()) h = s.k.open_thread(p, r.value().id, false).value();
    auto back = s.k.resume_thread({p, 31}, h);
    REQUIRE(back.ok());
    CHECK(back.value().previous == 1);
    CHECK(back.value().count == 0);
}

// ---------------------------------------------------------------------------------------------
// §2.3 priorities and quanta

TEST_CASE("A new thread has CE priority 251, THREAD_PRIORITY_NORMAL (3), quantum 100",
          "[unit][thread][priority]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.create(p);
    CHECK(s.query(p, t, ce::ThreadOp::CeGetPriority) == 251);
    CHECK(s.query(p, t, ce::ThreadOp::GetPriority) == 3);
    CHECK(s.query(p, t, ce::ThreadOp::GetQuantum) == 100);
}

TEST_CASE("SetThreadPriority maps 0-7 onto 248-255; 8 and up ERROR_INVALID_PARAMETER",
          "[unit][thread][priority]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.create(p);
    for (uint32_t n = 0; n < 8; ++n) {
        CHECK(s.query(p, t, ce::ThreadOp::SetPriority, n) == 1);
        CHECK(s.query(p, t, ce::ThreadOp::GetPriority) == n);
        CHECK(s.query(p, t, ce::ThreadOp::CeGetPriority) == 248 + n);
    }
    CHECK(s.query_error(p, t, ce::ThreadOp::SetPriority, 8) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.query_error(p, t, ce::ThreadOp::SetPriority, 0xFFFFFFFFu) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.query_error(p, HandleValue{0x1234}, ce::ThreadOp::SetPriority, 1) ==
          Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("CeSetThreadPriority keeps 0-255 exactly; below 248 reads back as TIME_CRITICAL",
          "[unit][thread][priority]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.create(p);
    CHECK(s.query(p, t, ce::ThreadOp::CeSetPriority, 0) == 1);
    CHECK(s.query(p, t, ce::ThreadOp::CeGetPriority) == 0);
    CHECK(s.query(p, t, ce::ThreadOp::GetPriority) == 0);
    CHECK(s.query(p, t, ce::ThreadOp::CeSetPriority, 130) == 1);
    CHECK(s.query(p, t, ce::ThreadOp::CeGetPriority) == 130);
    CHECK(s.query(p, t, ce::ThreadOp::GetPriority) == 0);
    CHECK(s.query(p, t, ce::ThreadOp::CeSetPriority, 255) == 1);
    CHECK(s.query(p, t, ce::ThreadOp::GetPriority) == 7);
    CHECK(s.query_error(p, t, ce::ThreadOp::CeSetPriority, 256) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("Priority calls on an exited thread: the Ce set gives ERROR_INVALID_PARAMETER, the "
          "others ERROR_INVALID_HANDLE", "[unit][thread][priority]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.start(p, 10);
    s.k.exit_thread({p, 10}, 0);  // the creator's reference keeps the value
    CHECK(s.query_error(p, t, ce::ThreadOp::CeSetPriority, 100) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.query_error(p, t, ce::ThreadOp::SetPriority, 1) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.query_error(p, t, ce::ThreadOp::GetPriority) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.query_error(p, t, ce::ThreadOp::CeGetPriority) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.query_error(p, t, ce::ThreadOp::GetQuantum) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("CeSetThreadQuantum: bit 31 set is ERROR_INVALID_PARAMETER; 0 is allowed",
          "[unit][thread][priority]") {
    ThreadScene s;
    auto p = s.attach();
    HandleValue t = s.create(p);
    CHECK(s.query(p, t, ce::ThreadOp::SetQuantum, 0) == 1);
    CHECK(s.query(p, t, ce::ThreadOp::GetQuantum) == 0);
    CHECK(s.query(p, t, ce::ThreadOp::SetQuantum, 0x7FFFFFFF) == 1);
    CHECK(s.query(p, t, ce::ThreadOp::GetQuantum) == 0x7FFFFFFFu);
    CHECK(s.query_error(p, t, ce::ThreadOp::SetQuantum, 0x80000000u) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}
