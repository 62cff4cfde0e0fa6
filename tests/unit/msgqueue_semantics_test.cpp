// Message queues with the CE 5 personality, through cek::kernel::Kernel with fake processes and
// threads: one test per row of ce-kernel-objects.md §5 (docs/semantics/msgqueue.md), each with
// its exact error code. Waits on queue handles are observed as the kernel's completions.
#include <cstring>
#include <string>
#include <vector>

#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::MsgQueueOptions;
using cek::kernel::ThreadRef;

namespace {

constexpr uint32_t kNoPrecommit = ce::kMsgQueueNoPrecommit;
constexpr uint32_t kAllowBroken = ce::kMsgQueueAllowBroken;
constexpr uint32_t kAlert = ce::kMsgQueueMsgAlert;

std::vector<std::byte> bytes(const std::string& s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}
std::string text(const std::vector<std::byte>& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// The kernel's own message storage: every queue here keeps its messages in the kernel (no
// rings), so these cases pin the kernel's rules; msg_ring_test.cpp pins the rings'.
inline KernelConfig kernel_storage(KernelConfig c = config()) {
    c.msg_rings = false;
    return c;
}

struct QueueScene : WaitScene {
    explicit QueueScene(KernelConfig c = kernel_storage()) : WaitScene(c) {}

    Result<HandleValue> create(ProcessId p, bool reader, MsgQueueOptions o,
                               const std::u16string* name, LastError& le, uint32_t size = 20) {
        return k.create_msg_queue(p, name, size, o, reader, le);
    }
    HandleValue make(ProcessId p, bool reader, MsgQueueOptions o = {0, 4, 64},
                     const std::u16string* name = nullptr) {
        LastError le;
        auto r = create(p, reader, o, name, le);
        REQUIRE(r.ok());
        return r.value();
    }
    HandleValue open(ProcessId p, HandleValue h, bool reader) {
        auto r = k.open_msg_queue(p, ce::kCurrentProcessHandle, h, 20, reader);
        REQUIRE(r.ok());
        return r.value();
    }
    Result<void> write(ProcessId p, HandleValue h, const std::string& s, uint32_t flags = 0) {
        auto b = bytes(s);
        return k.write_msg_queue({p, 1}, h, b, flags);
    }
    void put(ProcessId p, HandleValue h, const std::string& s, uint32_t flags = 0) {
        REQUIRE(write(p, h, s, flags).ok());
    }
    Result<kernel::MsgQueueMessage> read(ProcessId p, HandleValue h, uint32_t capacity = 64) {
        return k.read_msg_queue({p, 2}, h, capacity);
    }
    std::string take(ProcessId p, HandleValue h, uint32_t* flags = nullptr) {
        auto r = read(p, h);
        REQUIRE(r.ok());
        if (flags != nullptr) *flags = r.value().flags;
        return text(r.value().data);
    }
    kernel::MsgQueueInfo info(ProcessId p, HandleValue h) {
        auto r = k.msg_queue_info(p, h, 28);
        REQUIRE(r.ok());
        return r.value();
    }
    // A connected pair in one process: {reader, writer}.
    std::pair<HandleValue, HandleValue> pair(ProcessId p, MsgQueueOptions o = {0, 4, 64}) {
        HandleValue r = make(p, true, o);
        HandleValue w = open(p, r, false);
        return {r, w};
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// §5.3 CreateMsgQueue

TEST_CASE("CreateMsgQueue checks the options in CE's order", "[unit][msgqueue][create]") {
    QueueScene s;
    auto p = s.attach();
    LastError le;
    auto bad = [&](MsgQueueOptions o, uint32_t size = 20) {
        return error_of(s.create(p, true, o, nullptr, le, size));
    };
    CHECK(bad({0, 4, 0}) == Win32Error::ERROR_INVALID_PARAMETER);              // cbMaxMessage 0
    CHECK(bad({0, 4, 0x100001}) == Win32Error::ERROR_INVALID_PARAMETER);       // above 1 MiB
    CHECK(bad({0, 4, 64}, 19) == Win32Error::ERROR_INVALID_PARAMETER);         // dwSize < 20
    CHECK(bad({0, 0x100001, 1}) == Win32Error::ERROR_INVALID_PARAMETER);       // too many
    CHECK(bad({4, 4, 64}) == Win32Error::ERROR_INVALID_PARAMETER);             // unknown flag
    // The internal bit is stripped, not refused.
    CHECK(s.create(p, true, {0x80000000u | kAllowBroken, 4, 64}, nullptr, le).ok());
    // The limits themselves are accepted.
    CHECK(s.create(p, true, {kNoPrecommit, 0x100000, 0x100000}, nullptr, le).ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("CreateMsgQueue refuses more than 16 MB pre-committed with ERROR_OUTOFMEMORY",
          "[unit][msgqueue][create]") {
    QueueScene s;
    auto p = s.attach();
    LastError le;
    CHECK(s.create(p, true, {0, 16, 0x100000}, nullptr, le).ok());  // exactly 16 MB
    CHECK(error_of(s.create(p, true, {0, 17, 0x100000}, nullptr, le)) ==
          Win32Error::ERROR_OUTOFMEMORY);
    // NOPRECOMMIT, or no limit (which implies it), lifts the rule.
    CHECK(s.create(p, true, {kNoPrecommit, 17, 0x100000}, nullptr, le).ok());
    auto unlimited = s.make(p, true, {0, 0, 0x100000});
    CHECK(s.info(p, unlimited).max_messages == 0);
    CHECK((s.info(p, unlimited).flags & kNoPrecommit) != 0);
}

TEST_CASE("CreateMsgQueue names: 257 characters at most, case-sensitive, one namespace per end",
          "[unit][msgqueue][create][names]") {
    QueueScene s;
    auto p = s.attach();
    LastError le;
    std::u16string longest(257, u'q'), too_long(258, u'q');
    CHECK(s.create(p, true, {0, 4, 64}, &longest, le).ok());
    CHECK(error_of(s.create(p, true, {0, 4, 64}, &too_long, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // The options are checked before the name is looked up.
    CHECK(error_of(s.create(p, true, {0, 4, 0}, &longest, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    std::u16string lower = u"pipe", upper = u"PIPE";
    auto a = s.make(p, true, {0, 4, 64}, &lower);
    auto b = s.make(p, true, {0, 4, 64}, &upper);
    CHECK(a != b);
    // An event of the same name is another namespace.
    LastError ev;
    REQUIRE(s.k.create_event(p, true, false, &lower, ev).ok());
    CHECK(ev.code == Win32Error::ERROR_SUCCESS);
    // "" is a real name.
    std::u16string empty;
    auto e1 = s.make(p, true, {0, 4, 64}, &empty);
    LastError le2;
    auto e2 = s.create(p, true, {0, 4, 64}, &empty, le2);
    REQUIRE(e2.ok());
    CHECK(s.same_object(p, e2.value(), p, e1));
    CHECK(le2.code == Win32Error::ERROR_ALREADY_EXISTS);
}

TEST_CASE("A named end that exists is opened again; the other end joins its queue",
          "[unit][msgqueue][create][names]") {
    QueueScene s;
    auto p = s.attach();
    auto q = s.attach();
    std::u16string name = u"jobs";
    LastError le;
    auto r = s.create(p, true, {kAllowBroken, 8, 128}, &name, le);
    REQUIRE(r.ok());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    // The same end again: the same handle, ERROR_ALREADY_EXISTS, new options ignored.
    LastError le2;
    auto r2 = s.create(q, true, {0, 1, 16}, &name, le2);
    REQUIRE(r2.ok());
    CHECK(s.same_object(q, r2.value(), p, r.value()));
    CHECK(le2.code == Win32Error::ERROR_ALREADY_EXISTS);
    // The writer end joins the reader's queue: ERROR_ALREADY_EXISTS, its options ignored...
    LastError le3;
    auto w = s.create(q, false, {0, 1, 16}, &name, le3);
    REQUIRE(w.ok());
    CHECK_FALSE(s.same_object(q, w.value(), p, r.value()));
    CHECK(le3.code == Win32Error::ERROR_ALREADY_EXISTS);
    auto i = s.info(q, w.value());
    CHECK(i.max_messages == 8);
    CHECK(i.max_bytes == 128);
    CHECK(i.flags == kAllowBroken);
    CHECK(i.readers == 2);
    CHECK(i.writers == 1);
    // ...but its cbMaxMessage was still checked.
    std::u16string other = u"jobs2";
    REQUIRE(s.create(p, true, {0, 4, 64}, &other, le).ok());
    CHECK(error_of(s.create(q, false, {0, 4, 0x200000}, &other, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // A message goes through.
    s.put(q, w.value(), "hello");
    CHECK(s.take(p, r.value()) == "hello");
}

// ---------------------------------------------------------------------------------------------
// §5.4 OpenMsgQueue

TEST_CASE("OpenMsgQueue: its checks and error codes in order", "[unit][msgqueue][open]") {
    QueueScene s;
    auto p = s.attach();
    auto q = s.attach();
    auto r = s.make(p, true);
    auto ev = [&] {
        LastError le;
        return s.k.create_event(p, true, false, nullptr, le).value();
    }();
    // An unknown source process: ERROR_INVALID_HANDLE, before anything else.
    CHECK(error_of(s.k.open_msg_queue(p, 0x7777, HandleValue{0}, 0, false)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.open_msg_queue(p, ce::kCurrentProcessHandle, HandleValue{0}, 20, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.open_msg_queue(p, ce::kCurrentProcessHandle, r, 19, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.open_msg_queue(p, ce::kCurrentProcessHandle, ev, 20, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // q holds nothing: the handle is not a queue in q's handle space.
    CHECK(error_of(s.k.open_msg_queue(q, ce::kCurrentProcessHandle, r, 20, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // Named by a handle of p (CE 5: p's id, which is its handle), it is.
    auto w = s.k.open_msg_queue(q, s.process_handle_in(q, p).raw, r, 20, false);
    REQUIRE(w.ok());
    // The requested end exists now: the same end again.
    auto w2 = s.k.open_msg_queue(p, s.process_handle_in(p, q).raw, w.value(), 20, false);
    REQUIRE(w2.ok());
    CHECK(s.same_object(p, w2.value(), q, w.value()));
    CHECK(s.info(p, r).writers == 2);
    auto r2 = s.k.open_msg_queue(q, ce::kCurrentProcessHandle, w.value(), 20, true);
    REQUIRE(r2.ok());
    CHECK(s.same_object(q, r2.value(), p, r));
}

TEST_CASE("OpenMsgQueue of a broken queue fails with ERROR_INVALID_PARAMETER",
          "[unit][msgqueue][open][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    REQUIRE(s.k.close_handle(p, w).ok());
    CHECK(error_of(s.k.open_msg_queue(p, ce::kCurrentProcessHandle, r, 20, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("OpenMsgQueue of a named queue opens the end by name", "[unit][msgqueue][open]") {
    QueueScene s;
    auto p = s.attach();
    std::u16string name = u"named";
    auto r = s.make(p, true, {0, 4, 64}, &name);
    auto w = s.open(p, r, false);
    LastError le;
    auto w2 = s.create(p, false, {0, 4, 64}, &name, le);
    REQUIRE(w2.ok());
    CHECK(s.same_object(p, w2.value(), p, w));
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
}

// ---------------------------------------------------------------------------------------------
// §5.5 ReadMsgQueue / WriteMsgQueue

TEST_CASE("Read and write check their arguments and the end first", "[unit][msgqueue][io]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    std::vector<std::byte> none;
    CHECK(error_of(s.k.write_msg_queue({p, 1}, w, none, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.read(p, r, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.read(p, r, 0x80000000u)) == Win32Error::ERROR_INVALID_PARAMETER);
    // The wrong end, an event, a stale value: ERROR_INVALID_HANDLE.
    CHECK(error_of(s.write(p, r, "x")) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.read(p, w)) == Win32Error::ERROR_INVALID_HANDLE);
    LastError le;
    auto ev = s.k.create_event(p, true, true, nullptr, le).value();
    CHECK(error_of(s.write(p, ev, "x")) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.read(p, ev)) == Win32Error::ERROR_INVALID_HANDLE);
    // Another process holds no reference on them.
    auto q = s.attach();
    CHECK(error_of(s.write(q, w, "x")) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A write above cbMaxMessage fails with ERROR_INSUFFICIENT_BUFFER, nothing queued",
          "[unit][msgqueue][io]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 4, 4});
    CHECK(error_of(s.write(p, w, "12345")) == Win32Error::ERROR_INSUFFICIENT_BUFFER);
    s.put(p, w, "1234");
    CHECK(s.info(p, r).current == 1);
}

TEST_CASE("Messages are whole and FIFO; an empty read and a full write give ERROR_TIMEOUT",
          "[unit][msgqueue][io]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 2, 64});
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_TIMEOUT);
    s.put(p, w, "one");
    s.put(p, w, "two");
    CHECK(error_of(s.write(p, w, "three")) == Win32Error::ERROR_TIMEOUT);
    CHECK(s.take(p, r) == "one");
    s.put(p, w, "three");
    CHECK(s.take(p, r) == "two");
    CHECK(s.take(p, r) == "three");
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_TIMEOUT);
}

TEST_CASE("A short read copies what fits, reports it cut, and drops the rest",
          "[unit][msgqueue][io]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    s.put(p, w, "abcdefgh");
    s.put(p, w, "next");
    auto m = s.read(p, r, 3);
    REQUIRE(m.ok());
    CHECK(text(m.value().data) == "abc");
    CHECK(m.value().truncated);
    CHECK(s.take(p, r) == "next");  // the rest of the first message is gone
}

TEST_CASE("The alert slot is read first and does not count toward dwMaxMessages",
          "[unit][msgqueue][io][alert]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 1, 64});
    s.put(p, w, "plain");
    CHECK(error_of(s.write(p, w, "more")) == Win32Error::ERROR_TIMEOUT);  // full
    s.put(p, w, "urgent", kAlert);  // the alert slot is free
    CHECK(s.info(p, r).current == 1);  // the alert message is not counted
    // The slot is taken and the queue full: the alert write waits like any other.
    CHECK(error_of(s.write(p, w, "urgent2", kAlert)) == Win32Error::ERROR_TIMEOUT);
    uint32_t flags = 0;
    CHECK(s.take(p, r, &flags) == "urgent");
    CHECK(flags == kAlert);
    CHECK(s.take(p, r, &flags) == "plain");
    CHECK(flags == 0);
}

TEST_CASE("An alert message that finds the slot taken is queued and keeps its flag",
          "[unit][msgqueue][io][alert]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 4, 64});
    s.put(p, w, "first");
    s.put(p, w, "alert1", kAlert);
    s.put(p, w, "alert2", kAlert);  // slot taken: queued normally
    uint32_t flags = 0;
    CHECK(s.take(p, r, &flags) == "alert1");
    CHECK(flags == kAlert);
    CHECK(s.take(p, r, &flags) == "first");
    CHECK(flags == 0);
    CHECK(s.take(p, r, &flags) == "alert2");
    CHECK(flags == kAlert);
}

TEST_CASE("Without the other end and without ALLOW_BROKEN, read and write give "
          "ERROR_PIPE_NOT_CONNECTED", "[unit][msgqueue][io][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto r = s.make(p, true);
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
    auto w = s.make(p, false);
    CHECK(error_of(s.write(p, w, "x")) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
    // With ALLOW_BROKEN a lone writer fills the queue and a lone reader finds it empty.
    auto wb = s.make(p, false, {kAllowBroken, 1, 64});
    s.put(p, wb, "kept");
    CHECK(error_of(s.write(p, wb, "x")) == Win32Error::ERROR_TIMEOUT);
    auto rb = s.make(p, true, {kAllowBroken, 1, 64});
    CHECK(error_of(s.read(p, rb)) == Win32Error::ERROR_TIMEOUT);
}

TEST_CASE("The writer's memory budget bounds what the kernel holds: ERROR_OUTOFMEMORY",
          "[unit][msgqueue][io][memory]") {
    KernelConfig c = config();
    c.process_memory_limit = 4096;
    QueueScene s{c};
    auto p = s.attach();
    auto [r, w] = s.pair(p, {kNoPrecommit, 0, 2048});
    std::string big(2000, 'x');
    s.put(p, w, big);
    CHECK(error_of(s.write(p, w, big)) == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(s.k.memory_budget().used(p) > 2000);
    auto m = s.read(p, r, 2048);
    REQUIRE(m.ok());
    CHECK(text(m.value().data) == big);
    m.value().charge.release();  // what the transport does once the reply is written
    CHECK(s.k.memory_budget().used(p) == 0);
    s.put(p, w, big);
}

// ---------------------------------------------------------------------------------------------
// §5.6 Closing, broken queues

TEST_CASE("Without ALLOW_BROKEN the last writer's close frees unread messages",
          "[unit][msgqueue][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    s.put(p, w, "lost");
    CHECK(s.k.memory_budget().used(p) > 0);
    REQUIRE(s.k.close_handle(p, w).ok());
    CHECK(s.k.memory_budget().used(p) == 0);
    CHECK(s.info(p, r).current == 0);
    CHECK(s.info(p, r).writers == 0);
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
    // A writer that comes back by name finds the queue broken (named queues).
    std::u16string name = u"b";
    auto nr = s.make(p, true, {0, 4, 64}, &name);
    auto nw = s.make(p, false, {0, 4, 64}, &name);
    REQUIRE(s.k.close_handle(p, nr).ok());
    CHECK(error_of(s.write(p, nw, "x")) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
}

TEST_CASE("Without ALLOW_BROKEN the last reader's close breaks the queue for writers",
          "[unit][msgqueue][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    REQUIRE(s.k.close_handle(p, r).ok());
    CHECK(error_of(s.write(p, w, "x")) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
}

TEST_CASE("With ALLOW_BROKEN messages survive the writer and are drained",
          "[unit][msgqueue][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {kAllowBroken, 4, 64});
    s.put(p, w, "a");
    s.put(p, w, "b");
    REQUIRE(s.k.close_handle(p, w).ok());
    CHECK(s.take(p, r) == "a");
    CHECK(s.take(p, r) == "b");
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_TIMEOUT);
    // The queue's memory goes when both ends are gone.
    REQUIRE(s.k.close_handle(p, r).ok());
    CHECK(s.object_handles() == 0);
}

TEST_CASE("A process's death closes its ends, with the broken-queue rule",
          "[unit][msgqueue][broken][death]") {
    QueueScene s;
    auto reader = s.attach();
    auto writer = s.attach();
    std::u16string name = u"death";
    auto r = s.make(reader, true, {0, 4, 64}, &name);
    auto w = s.make(writer, false, {0, 4, 64}, &name);
    s.put(writer, w, "unread");
    CHECK(s.take(reader, r) == "unread");
    s.put(writer, w, "unread too");
    s.k.detach_process(writer);
    auto i = s.info(reader, r);
    CHECK(i.writers == 0);
    CHECK(i.current == 0);
    CHECK(error_of(s.read(reader, r)) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
    CHECK(s.k.memory_budget().used(writer) == 0);
}

// ---------------------------------------------------------------------------------------------
// §5.1 Queue handles are waitable

TEST_CASE("The reader end is signalled while a message is there, the writer end while there "
          "is room", "[unit][msgqueue][wait]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 1, 64});
    CHECK(s.wait_now({p, 1}, {r}) == kWaitTimeout);
    CHECK(s.wait_now({p, 1}, {w}) == kWaitObject0);
    uint64_t tag = s.wait_pending({p, 1}, {r});
    s.put(p, w, "x");
    CHECK(s.completed(tag, kWaitObject0));
    // Manual-reset: still signalled until the message is read.
    CHECK(s.wait_now({p, 1}, {r}) == kWaitObject0);
    CHECK(s.wait_now({p, 1}, {w}) == kWaitTimeout);  // full
    uint64_t wtag = s.wait_pending({p, 3}, {w});
    CHECK(s.take(p, r) == "x");
    CHECK(s.completed(wtag, kWaitObject0));
    CHECK(s.wait_now({p, 1}, {r}) == kWaitTimeout);
}

TEST_CASE("A wait over a queue, an event and a mutex completes on the queue",
          "[unit][msgqueue][wait]") {
    QueueScene s;
    auto p = s.attach();
    auto q = s.attach();
    auto [r, w] = s.pair(p);
    LastError le;
    auto ev = s.k.create_event(p, false, false, nullptr, le).value();
    auto mx = s.k.create_mutex({p, 9}, true, nullptr, le).value();  // another thread owns it
    auto qw = s.k.open_msg_queue(q, s.process_handle_in(q, p).raw, w, 20, false);
    REQUIRE(qw.ok());
    uint64_t tag = s.wait_pending({p, 1}, {ev, mx, r}, 10'000);
    s.put(q, qw.value(), "wake");
    CHECK(s.completed(tag, kWaitObject0 + 2));
    // And on the mutex when it comes first.
    CHECK(s.take(p, r) == "wake");
    uint64_t tag2 = s.wait_pending({p, 1}, {ev, mx, r}, 10'000);
    REQUIRE(s.k.release_mutex({p, 9}, mx).ok());
    CHECK(s.completed(tag2, kWaitObject0 + 1));
}

TEST_CASE("Closing one end wakes waiters on the other", "[unit][msgqueue][wait][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    uint64_t tag = s.wait_pending({p, 1}, {r});
    REQUIRE(s.k.close_handle(p, w).ok());
    CHECK(s.completed(tag, kWaitObject0));
    CHECK(error_of(s.read(p, r)) == Win32Error::ERROR_PIPE_NOT_CONNECTED);
}

TEST_CASE("A wait on an empty queue times out", "[unit][msgqueue][wait]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    uint64_t tag = s.wait_pending({p, 1}, {r}, 5);
    s.k.expire_waits(UINT64_MAX);
    CHECK(s.completed(tag, kWaitTimeout));
    (void)w;
}

TEST_CASE("DuplicateHandle does not copy a queue handle (CE 5: sync objects only)",
          "[unit][msgqueue][ce5]") {
    // CE 6 copies any handle: tests/unit/ce6_handles_test.cpp.
    QueueScene s(kernel_storage(config_of(5)));
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    CHECK(error_of(s.k.duplicate_handle(ThreadRef{p, 1}, ce::kCurrentProcessHandle, r,
                                        ce::kCurrentProcessHandle, ce::kDuplicateSameAccess,
                                        false)) == Win32Error::ERROR_INVALID_PARAMETER);
    (void)w;
}

// ---------------------------------------------------------------------------------------------
// §5.7 GetMsgQueueInfo

TEST_CASE("GetMsgQueueInfo: size and handle checks, counts and the high-water mark",
          "[unit][msgqueue][info]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {kAllowBroken, 8, 100});
    CHECK(error_of(s.k.msg_queue_info(p, r, 27)) == Win32Error::ERROR_INVALID_PARAMETER);
    LastError le;
    auto ev = s.k.create_event(p, true, true, nullptr, le).value();
    CHECK(error_of(s.k.msg_queue_info(p, ev, 28)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.msg_queue_info(p, HandleValue{0x1234}, 28)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    s.put(p, w, "1");
    s.put(p, w, "2");
    s.put(p, w, "3");
    s.put(p, w, "alert", kAlert);
    (void)s.take(p, r);
    (void)s.take(p, r);
    auto i = s.info(p, w);
    CHECK(i.flags == kAllowBroken);
    CHECK(i.max_messages == 8);
    CHECK(i.max_bytes == 100);
    CHECK(i.current == 2);
    CHECK(i.high_water == 3);
    CHECK(i.readers == 1);
    CHECK(i.writers == 1);
    auto q = s.attach();
    REQUIRE(s.k.open_msg_queue(q, s.process_handle_in(q, p).raw, r, 20, true).ok());
    CHECK(s.info(p, r).readers == 2);
}

// ---------------------------------------------------------------------------------------------
// Messages larger than a slot (docs/decisions/0007-message-queues.md)

TEST_CASE("A large message is staged in parts and read back in parts", "[unit][msgqueue][large]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 2, 0x100000});
    const ThreadRef t{p, 7};
    std::vector<std::byte> msg(10000);
    for (size_t i = 0; i < msg.size(); ++i) msg[i] = std::byte(i * 7);
    // A bad start stages nothing.
    CHECK(error_of(s.k.stage_msg_part(t, r, 10000, 0, std::span(msg).first(4000))) ==
          Win32Error::ERROR_INVALID_HANDLE);
    auto small = s.pair(p, {0, 2, 100});
    CHECK(error_of(s.k.stage_msg_part(t, small.second, 10000, 0, std::span(msg).first(4000))) ==
          Win32Error::ERROR_INSUFFICIENT_BUFFER);
    CHECK(s.k.memory_budget().used(p) == 0);
    REQUIRE(s.k.stage_msg_part(t, w, 10000, 0, std::span(msg).first(4000)).value() == 4000);
    // Out of order: refused, and the staging is dropped.
    CHECK(error_of(s.k.stage_msg_part(t, w, 10000, 5000, std::span(msg).subspan(5000, 10))) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.memory_budget().used(p) == 0);
    REQUIRE(s.k.stage_msg_part(t, w, 10000, 0, std::span(msg).first(4000)).value() == 4000);
    REQUIRE(s.k.stage_msg_part(t, w, 10000, 4000, std::span(msg).subspan(4000)).value() == 10000);
    REQUIRE(s.k.write_staged_msg(t, w, 0).ok());
    // Read: the first part in the reply, the rest from the thread's staging.
    auto m = s.k.read_msg_queue({p, 8}, r, 0x100000);
    REQUIRE(m.ok());
    REQUIRE(m.value().data.size() == 10000);
    CHECK(m.value().data == msg);
    s.k.keep_read_rest({p, 8}, r, std::move(m.value()), 4000);
    std::vector<std::byte> rest(6000);
    CHECK(error_of(s.k.take_read_rest({p, 8}, r, 10, rest)) == Win32Error::ERROR_INVALID_PARAMETER);
    REQUIRE(s.k.take_read_rest({p, 8}, r, 4000, rest).value() == 6000);
    CHECK(std::equal(rest.begin(), rest.end(), msg.begin() + 4000));
    CHECK(s.k.memory_budget().used(p) == 0);  // staging gone once taken
}

TEST_CASE("A staged message waits for room and stays staged", "[unit][msgqueue][large]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 1, 0x100000});
    const ThreadRef t{p, 7};
    s.put(p, w, "fills it");
    std::vector<std::byte> msg(5000, std::byte{1});
    REQUIRE(s.k.stage_msg_part(t, w, 5000, 0, msg).value() == 5000);
    CHECK(error_of(s.k.write_staged_msg(t, w, 0)) == Win32Error::ERROR_TIMEOUT);
    CHECK(s.take(p, r) == "fills it");
    REQUIRE(s.k.write_staged_msg(t, w, 0).ok());
    CHECK(error_of(s.k.write_staged_msg(t, w, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    auto m = s.read(p, r, 0x100000);
    REQUIRE(m.ok());
    CHECK(m.value().data == msg);
}

// ---------------------------------------------------------------------------------------------
// Calls that wait: parked in the kernel like waits, completed with the message

namespace {

std::vector<kernel::WaitCompletion> completions_for(QueueScene& s, uint64_t tag) {
    std::vector<kernel::WaitCompletion> out;
    for (auto& c : s.k.take_completions())
        if (c.tag == tag) out.push_back(std::move(c));
    return out;
}

}  // namespace

TEST_CASE("A read that waits completes with the message a later write brings",
          "[unit][msgqueue][parked]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p);
    auto zero = s.k.read_msg_queue({p, 2}, r, 64, 0, 1, 4064);
    REQUIRE(zero.has_value());
    CHECK(error_of(*zero) == Win32Error::ERROR_TIMEOUT);  // a zero time-out answers at once
    REQUIRE_FALSE(s.k.read_msg_queue({p, 2}, r, 3, kInfinite, 2, 4064).has_value());
    CHECK(s.k.pending_waits() == 1);
    s.put(p, w, "hello");
    auto c = completions_for(s, 2);
    REQUIRE(c.size() == 1);
    CHECK(c[0].code == proto::RequestCode::MsgQueueRead);
    CHECK_FALSE(c[0].failed);
    CHECK(text(c[0].msg_data) == "hel");  // cut to the reader's buffer
    CHECK(c[0].msg_truncated);
    CHECK(s.info(p, r).current == 0);
    CHECK(s.k.memory_budget().used(p) == 0);
}

TEST_CASE("A write that waits completes when a read makes room, and wakes the next reader",
          "[unit][msgqueue][parked]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 1, 64});
    s.put(p, w, "first");
    auto second = bytes("second");
    REQUIRE_FALSE(s.k.write_msg_queue({p, 3}, w, second, 0, kInfinite, 7).has_value());
    // A read takes "first"; the parked write goes in at once, in the same step.
    CHECK(s.take(p, r) == "first");
    auto c = completions_for(s, 7);
    REQUIRE(c.size() == 1);
    CHECK(c[0].code == proto::RequestCode::MsgQueueWrite);
    CHECK_FALSE(c[0].failed);
    CHECK(s.take(p, r) == "second");
    // A parked reader and a parked writer chained: the writer's message reaches the reader.
    REQUIRE_FALSE(s.k.read_msg_queue({p, 4}, r, 64, kInfinite, 8, 4064).has_value());
    s.put(p, w, "x");  // taken by the parked reader at once
    auto c8 = completions_for(s, 8);
    REQUIRE(c8.size() == 1);
    CHECK(text(c8[0].msg_data) == "x");
}

TEST_CASE("A parked call times out with ERROR_TIMEOUT and a staged message is dropped",
          "[unit][msgqueue][parked]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 1, 0x100000});
    REQUIRE_FALSE(s.k.read_msg_queue({p, 2}, r, 64, 5, 1, 4064).has_value());
    s.k.expire_waits(UINT64_MAX);
    auto c = completions_for(s, 1);
    REQUIRE(c.size() == 1);
    CHECK(c[0].failed);
    CHECK(c[0].error == Win32Error::ERROR_TIMEOUT);
    s.put(p, w, "full");
    std::vector<std::byte> big(9000, std::byte{3});
    REQUIRE(s.k.stage_msg_part({p, 5}, w, 9000, 0, big).value() == 9000);
    REQUIRE_FALSE(s.k.write_staged_msg({p, 5}, w, 0, 5, 2).has_value());
    s.k.expire_waits(UINT64_MAX);
    auto c2 = completions_for(s, 2);
    REQUIRE(c2.size() == 1);
    CHECK(c2[0].error == Win32Error::ERROR_TIMEOUT);
    CHECK(s.k.pending_waits() == 0);
    (void)s.take(p, r);
    CHECK(s.k.memory_budget().used(p) == 0);  // the staged 9000 bytes went with the time-out
}

TEST_CASE("Parked reads fail with ERROR_PIPE_NOT_CONNECTED when the writer goes",
          "[unit][msgqueue][parked][broken]") {
    QueueScene s;
    auto p = s.attach();
    auto q = s.attach();
    auto [r, w] = s.pair(p);
    auto qr = s.k.open_msg_queue(q, s.process_handle_in(q, p).raw, r, 20, true);
    REQUIRE(qr.ok());
    REQUIRE_FALSE(s.k.read_msg_queue({p, 2}, r, 64, kInfinite, 1, 4064).has_value());
    REQUIRE_FALSE(s.k.read_msg_queue({q, 2}, qr.value(), 64, kInfinite, 2, 4064).has_value());
    REQUIRE(s.k.close_handle(p, w).ok());
    auto c = s.k.take_completions();
    REQUIRE(c.size() == 2);
    for (const auto& done : c) CHECK(done.error == Win32Error::ERROR_PIPE_NOT_CONNECTED);
}

TEST_CASE("A parked reader whose process is gone takes no message",
          "[unit][msgqueue][parked][death]") {
    QueueScene s;
    auto dead = s.attach();
    auto live = s.attach();
    auto [r, w] = s.pair(live);
    auto dr = s.k.open_msg_queue(dead, s.process_handle_in(dead, live).raw, r, 20, true);
    REQUIRE(dr.ok());
    REQUIRE_FALSE(s.k.read_msg_queue({dead, 2}, dr.value(), 64, kInfinite, 1, 4064).has_value());
    REQUIRE_FALSE(s.k.read_msg_queue({live, 2}, r, 64, kInfinite, 2, 4064).has_value());
    // The dead process's hang-up has not been read yet: only the liveness probe knows.
    s.k.set_liveness_probe([&](ProcessId id) { return id != dead; });
    s.put(live, w, "for the living");
    auto c = s.k.take_completions();
    REQUIRE(c.size() == 1);
    CHECK(c[0].tag == 2);
    CHECK(text(c[0].msg_data) == "for the living");
    s.k.set_liveness_probe(nullptr);
}

TEST_CASE("A parked read of a message larger than its first part keeps the rest",
          "[unit][msgqueue][parked][large]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {0, 2, 0x100000});
    REQUIRE_FALSE(s.k.read_msg_queue({p, 2}, r, 0x100000, kInfinite, 1, 100).has_value());
    std::vector<std::byte> msg(300);
    for (size_t i = 0; i < msg.size(); ++i) msg[i] = std::byte(i);
    auto copy = msg;
    REQUIRE(s.k.write_msg_queue({p, 1}, w, copy, 0).ok());
    auto c = s.k.take_completions();
    REQUIRE(c.size() == 1);
    CHECK(c[0].msg_size == 300);
    CHECK(c[0].msg_data.size() == 100);
    std::vector<std::byte> rest(200);
    REQUIRE(s.k.take_read_rest({p, 2}, r, 100, rest).value() == 200);
    CHECK(std::equal(rest.begin(), rest.end(), msg.begin() + 100));
}

TEST_CASE("A parked read whose handle is closed meanwhile fails with ERROR_INVALID_HANDLE",
          "[unit][msgqueue][parked]") {
    QueueScene s;
    auto p = s.attach();
    auto [r, w] = s.pair(p, {kAllowBroken, 4, 64});
    REQUIRE_FALSE(s.k.read_msg_queue({p, 2}, r, 64, kInfinite, 1, 4064).has_value());
    REQUIRE(s.k.close_handle(p, r).ok());  // another thread closes the last reader handle
    auto c = s.k.take_completions();
    REQUIRE(c.size() == 1);
    CHECK(c[0].error == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.k.pending_waits() == 0);
    // ALLOW_BROKEN: the writer may still write until the queue is full.
    s.put(p, w, "kept");
}
