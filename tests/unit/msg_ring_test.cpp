// Message queue rings (protocol/msg_ring.h; docs/decisions/0007-message-queues.md, "rings"):
// the operations every client runs on a ring, with the rows of docs/semantics/msgqueue.md §4
// that they decide, and what the kernel keeps of a ring (which queues get one, its state, counts
// and waits). The kernel's own queue storage is pinned by msgqueue_semantics_test.cpp.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::MsgQueueOptions;
using Outcome = cek::proto::MsgRing::Outcome;

namespace {

constexpr uint32_t kAlert = ce::kMsgQueueMsgAlert;

// A ring in shared anonymous memory, as the kernel makes one (the state given).
struct TestRing {
    TestRing(uint32_t max_messages, uint32_t max_bytes, uint32_t state)
        : bytes(proto::msg_ring_bytes(max_messages, max_bytes)),
          base(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)),
          ring(base, bytes, max_messages, max_bytes) {
        REQUIRE(base != MAP_FAILED);
        proto::MsgRing::init(base, max_messages, max_bytes, state);
    }
    ~TestRing() { ::munmap(base, bytes); }

    // One call, the lock taken and let go around it as a client does.
    Outcome put(const std::string& s, uint32_t flags = 0) {
        REQUIRE(ring.try_lock(kTid));
        const Outcome o = ring.write_locked(s.data(), static_cast<uint32_t>(s.size()), flags);
        CHECK_FALSE(ring.unlock());
        return o;
    }
    // The next message as text, or "" when the read did not complete.
    std::string take(uint32_t capacity = 64, uint32_t* flags = nullptr, bool* cut = nullptr,
                     Outcome* outcome = nullptr) {
        std::vector<char> out(capacity);
        proto::MsgRing::Taken t;
        REQUIRE(ring.try_lock(kTid));
        const Outcome o = ring.read_locked(out.data(), capacity, t);
        CHECK_FALSE(ring.unlock());
        if (outcome != nullptr) *outcome = o;
        if (o != Outcome::done) return "";
        if (flags != nullptr) *flags = t.flags;
        if (cut != nullptr) *cut = t.truncated;
        return std::string(out.data(), t.size);
    }

    static constexpr uint32_t kTid = 4242;
    uint64_t bytes;
    void* base;
    proto::MsgRing ring;
};

constexpr uint32_t kBothEnds = proto::kRingReaderEnd | proto::kRingWriterEnd;

}  // namespace

TEST_CASE("Which queues get a ring: bounded, and at most 1 MiB of it", "[unit][msgqueue][ring]") {
    CHECK(proto::msg_ring_bytes(0, 64) == 0);                  // unlimited: the kernel's
    CHECK(proto::msg_ring_bytes(16, 64) == 4096);              // header + 17 cells, one page
    CHECK(proto::msg_ring_bytes(1, 0x100000) == 0);            // two 1 MiB cells
    CHECK(proto::msg_ring_bytes(4094, 248) == 1u << 20);       // exactly 1 MiB
    CHECK(proto::msg_ring_bytes(4095, 248) == 0);
    CHECK(proto::msg_ring_cell_bytes(1) == 16);
}

TEST_CASE("A ring keeps order, reads the alert slot first and cuts a short read",
          "[unit][msgqueue][ring]") {
    TestRing t(2, 64, kBothEnds);
    CHECK(t.put("one") == Outcome::done);
    CHECK(t.put("alert", kAlert) == Outcome::done);  // the slot, outside dwMaxMessages
    CHECK(t.put("two") == Outcome::done);
    CHECK(t.ring.count() == 2);                      // the alert counts in neither
    CHECK(t.ring.high_water() == 2);
    // Full: an ordinary write waits; an alert with the slot taken is an ordinary one and waits.
    CHECK(t.put("three") == Outcome::wait);
    CHECK(t.put("second alert", kAlert) == Outcome::wait);
    uint32_t flags = 99;
    CHECK(t.take(64, &flags) == "alert");
    CHECK(flags == kAlert);
    // The slot is free again: an alert takes it while the queue is still full.
    CHECK(t.put("again", kAlert) == Outcome::done);
    CHECK(t.take() == "again");
    bool cut = false;
    CHECK(t.take(2, &flags, &cut) == "on");  // TRUE with ERROR_INSUFFICIENT_BUFFER; rest dropped
    CHECK(cut);
    CHECK(flags == 0);
    CHECK(t.take(64, nullptr, &cut) == "two");
    CHECK_FALSE(cut);
    Outcome o{};
    CHECK(t.take(64, nullptr, nullptr, &o).empty());
    CHECK(o == Outcome::wait);
    CHECK(t.ring.count() == 0);
    CHECK(t.ring.high_water() == 2);
    // An alert that missed the slot keeps its flag in the queue.
    CHECK(t.put("a", kAlert) == Outcome::done);
    CHECK(t.put("b", kAlert) == Outcome::done);
    CHECK(t.take(64, &flags) == "a");
    CHECK(t.take(64, &flags) == "b");
    CHECK(flags == kAlert);
}

TEST_CASE("A ring's messages wrap around its cells in order", "[unit][msgqueue][ring]") {
    TestRing t(3, 16, kBothEnds);
    for (int i = 0; i < 50; ++i) {
        REQUIRE(t.put(std::to_string(i)) == Outcome::done);
        if (i % 3 == 2) {
            for (int j = i - 2; j <= i; ++j) REQUIRE(t.take() == std::to_string(j));
        }
    }
    CHECK(t.take() == "48");
    CHECK(t.take() == "49");
}

TEST_CASE("A ring answers ERROR_PIPE_NOT_CONNECTED by its state (§5.5 step 4)",
          "[unit][msgqueue][ring]") {
    SECTION("no reader end yet, no ALLOW_BROKEN: writes fail, reads of the reader go on") {
        TestRing t(4, 64, proto::kRingWriterEnd);
        CHECK(t.put("x") == Outcome::not_connected);
    }
    SECTION("no writer end: reads fail") {
        TestRing t(4, 64, proto::kRingReaderEnd);
        Outcome o{};
        t.take(64, nullptr, nullptr, &o);
        CHECK(o == Outcome::not_connected);
    }
    SECTION("ALLOW_BROKEN without the other end: writes fill the queue, reads drain it") {
        TestRing t(1, 64, proto::kRingAllowBroken | proto::kRingWriterEnd);
        CHECK(t.put("kept") == Outcome::done);
        CHECK(t.put("more") == Outcome::wait);
        t.ring.header().state.store(proto::kRingAllowBroken | proto::kRingReaderEnd);
        CHECK(t.take() == "kept");
    }
    SECTION("broken: both directions fail, whatever is queued") {
        TestRing t(4, 64, kBothEnds);
        CHECK(t.put("lost") == Outcome::done);
        t.ring.header().state.store(kBothEnds | proto::kRingBroken | proto::kRingAllowBroken);
        CHECK(t.put("x") == Outcome::not_connected);
        Outcome o{};
        t.take(64, nullptr, nullptr, &o);
        CHECK(o == Outcome::not_connected);
    }
}

TEST_CASE("A scribbled ring fails its calls and is never read past its cells",
          "[unit][msgqueue][ring]") {
    TestRing t(2, 8, kBothEnds);
    CHECK(t.put("12345678") == Outcome::done);
    SECTION("counts no client could leave") {
        t.ring.header().tail.store(t.ring.header().head.load() + 3);
        CHECK(t.put("x") == Outcome::unusable);
        Outcome o{};
        t.take(64, nullptr, nullptr, &o);
        CHECK(o == Outcome::unusable);
        CHECK(t.ring.count() == 2);  // what the kernel reads stays within the queue
    }
    SECTION("a cell claiming more than cbMaxMessage bytes gives at most cbMaxMessage") {
        auto* cell = reinterpret_cast<proto::MsgRingCell*>(static_cast<std::byte*>(t.base) +
                                                           proto::kMsgRingHeaderBytes +
                                                           proto::msg_ring_cell_bytes(8));
        cell->size = 0x7fffffff;
        bool cut = true;
        CHECK(t.take(64, nullptr, &cut) == "12345678");
        CHECK_FALSE(cut);
    }
}

TEST_CASE("A ring's lock: one holder, handed over only from the holder named",
          "[unit][msgqueue][ring]") {
    TestRing t(2, 64, kBothEnds);
    CHECK(t.ring.try_lock(7));
    CHECK(t.ring.header().lock.load() == 7);
    CHECK_FALSE(t.ring.try_lock(8));
    CHECK_FALSE(t.ring.take_over(9, 8));  // not its holder: nothing changes
    CHECK_FALSE(t.ring.take_over(0, 8));
    CHECK(t.ring.take_over(7, 8));        // the holder found gone
    CHECK(t.ring.header().lock.load() == 8);
    t.ring.header().lock_waiters.store(1);
    CHECK(t.ring.unlock());  // someone sleeps on it: the unlocker wakes one
    CHECK(t.ring.header().lock.load() == 0);
    CHECK(t.ring.try_lock(9));
}

// ---- What the kernel keeps of a ring ----

namespace {

Outcome write(proto::MsgRing& ring, const std::string& m) {
    REQUIRE(ring.try_lock(1));
    const Outcome o = ring.write_locked(m.data(), static_cast<uint32_t>(m.size()), 0);
    ring.unlock();
    return o;
}

struct RingScene : WaitScene {
    using WaitScene::WaitScene;
    HandleValue make(ProcessId p, bool reader, MsgQueueOptions o = {0, 4, 64}) {
        LastError le;
        auto r = k.create_msg_queue(p, nullptr, 20, o, reader, le);
        REQUIRE(r.ok());
        return r.value();
    }
    HandleValue open(ProcessId p, HandleValue h, bool reader) {
        auto r = k.open_msg_queue(p, ce::kCurrentProcessHandle, h, 20, reader);
        REQUIRE(r.ok());
        return r.value();
    }
    kernel::MsgRingGrant grant(ProcessId p, HandleValue h) {
        auto r = k.msg_queue_ring(p, h);
        REQUIRE(r.ok());
        return r.value();
    }
    // The kernel's mapping of h's ring, used here as a client uses its own.
    proto::MsgRing& ring(ProcessId p, HandleValue h) {
        auto g = grant(p, h);
        REQUIRE(g.ring != nullptr);
        return const_cast<kernel::MsgRingMemory*>(g.ring)->ring();
    }
};

}  // namespace

TEST_CASE("The kernel gives bounded queues a ring and keeps the others' messages",
          "[unit][msgqueue][ring]") {
    RingScene s;
    auto p = s.attach();
    auto bounded = s.make(p, true, {0, 16, 64});
    auto g = s.grant(p, bounded);
    CHECK(g.reader);
    REQUIRE(g.ring != nullptr);
    CHECK(g.ring->ring().bytes() == 4096);
    CHECK(g.max_messages == 16);
    CHECK(g.max_bytes == 64);
    CHECK(g.ring->fd() >= 0);
    CHECK(g.ring->ino() != 0);
    auto writer = s.open(p, bounded, false);
    auto w = s.grant(p, writer);
    CHECK_FALSE(w.reader);
    CHECK(w.ring == g.ring);  // one ring per queue
    CHECK(w.queue_id == g.queue_id);
    // The kernel moves no message of a ring: a client that asks it is told no.
    std::vector<std::byte> data(4, std::byte{1});
    CHECK(error_of(s.k.write_msg_queue({p, 1}, writer, data, 0)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.read_msg_queue({p, 1}, bounded, 64)) == Win32Error::ERROR_INVALID_HANDLE);
    // Unlimited and large queues keep their messages in the kernel.
    CHECK(s.grant(p, s.make(p, true, {0, 0, 64})).ring == nullptr);
    CHECK(s.grant(p, s.make(p, true, {0, 2, 0x100000})).ring == nullptr);
    // Anything but a queue end of the caller.
    LastError le;
    auto event = s.k.create_event(p, true, false, nullptr, le);
    REQUIRE(event.ok());
    CHECK(error_of(s.k.msg_queue_ring(p, event.value())) == Win32Error::ERROR_INVALID_HANDLE);
    auto q = s.attach();
    CHECK(error_of(s.k.msg_queue_ring(q, HandleValue{0x7777})) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.notify_msg_queue(q, HandleValue{0x7777})) ==
          Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A ring is charged to its creator; past the budget the queue keeps its messages",
          "[unit][msgqueue][ring]") {
    KernelConfig c = config();
    c.process_memory_limit = 16 * 4096 + 2048;
    RingScene s(c);
    auto p = s.attach();
    // 16 rings of 4 KiB fit, the 17th does not and is a queue of the kernel's (whose messages
    // the rest of the budget still takes).
    for (int i = 0; i < 16; ++i) REQUIRE(s.grant(p, s.make(p, true, {0, 16, 64})).ring != nullptr);
    auto over = s.make(p, true, {0, 16, 64});
    CHECK(s.grant(p, over).ring == nullptr);
    std::vector<std::byte> data(4, std::byte{1});
    auto w = s.open(p, over, false);
    CHECK(s.k.write_msg_queue({p, 1}, w, data, 0).ok());  // without a ring, the kernel's rules
}

TEST_CASE("The kernel writes a ring's state: ends, broken, and counts for GetMsgQueueInfo",
          "[unit][msgqueue][ring]") {
    RingScene s;
    auto p = s.attach();
    auto r = s.make(p, true, {0, 4, 64});
    proto::MsgRing& ring = s.ring(p, r);
    CHECK(ring.header().state.load() == proto::kRingReaderEnd);
    auto w = s.open(p, r, false);
    CHECK(ring.header().state.load() == kBothEnds);
    const std::string m = "hello";
    REQUIRE(write(ring, m) == Outcome::done);
    REQUIRE(write(ring, m) == Outcome::done);
    auto info = s.k.msg_queue_info(p, w, 28);
    REQUIRE(info.ok());
    CHECK(info.value().current == 2);
    CHECK(info.value().high_water == 2);
    // A client's scribble of the state is not what the kernel goes by: it writes its own.
    ring.header().state.store(0);
    REQUIRE(s.k.close_handle(p, w).ok());  // the last writer: broken (no ALLOW_BROKEN)
    CHECK(ring.header().state.load() == (proto::kRingReaderEnd | proto::kRingBroken));
    info = s.k.msg_queue_info(p, r, 28);
    REQUIRE(info.ok());
    CHECK(info.value().current == 0);  // freed with the queue's break
    CHECK(info.value().high_water == 2);
}

TEST_CASE("With ALLOW_BROKEN a ring only loses the closed end's bit", "[unit][msgqueue][ring]") {
    RingScene s;
    auto p = s.attach();
    auto r = s.make(p, true, {ce::kMsgQueueAllowBroken, 4, 64});
    proto::MsgRing& ring = s.ring(p, r);
    auto w = s.open(p, r, false);
    CHECK(ring.header().state.load() == (kBothEnds | proto::kRingAllowBroken));
    REQUIRE(s.k.close_handle(p, w).ok());
    CHECK(ring.header().state.load() == (proto::kRingReaderEnd | proto::kRingAllowBroken));
}

TEST_CASE("Kernel waits on a ring's end: listed in its header, woken by MsgQueueNotify",
          "[unit][msgqueue][ring][wait]") {
    RingScene s;
    auto p = s.attach();
    auto r = s.make(p, true, {0, 1, 64});
    auto w = s.open(p, r, false);
    proto::MsgRing& ring = s.ring(p, r);
    const uint64_t tag = s.wait_pending({p, 1}, {r});
    CHECK(ring.header().kernel_watch[0].load() == 1);
    CHECK(ring.header().kernel_watch[1].load() == 0);
    // A message in the ring alone does not reach the kernel...
    const std::string m = "x";
    REQUIRE(write(ring, m) == Outcome::done);
    CHECK_FALSE(s.completed(tag, 0));
    // ...the client that saw kernel_watch tells it.
    REQUIRE(s.k.notify_msg_queue(p, w).ok());
    CHECK(s.completed(tag, 0));
    CHECK(ring.header().kernel_watch[0].load() == 0);
    // The writer end waits for room: ready again once the message is read.
    const uint64_t room = s.wait_pending({p, 2}, {w});
    CHECK(ring.header().kernel_watch[1].load() == 1);
    char out[4];
    proto::MsgRing::Taken taken;
    REQUIRE(ring.try_lock(1));
    REQUIRE(ring.read_locked(out, sizeof out, taken) == Outcome::done);
    ring.unlock();
    REQUIRE(s.k.notify_msg_queue(p, r).ok());
    CHECK(s.completed(room, 0));
    // A wait made after the ring changed finds it ready at once, notified or not.
    REQUIRE(write(ring, m) == Outcome::done);
    CHECK(s.wait_now({p, 1}, {r}) == 0);
}

TEST_CASE("A waiter that goes takes its count off the ring", "[unit][msgqueue][ring][wait]") {
    RingScene s;
    auto p = s.attach();
    auto q = s.attach();
    const std::u16string name = u"watched";
    LastError le;
    auto r = s.k.create_msg_queue(p, &name, 20, {0, 4, 64}, true, le);
    REQUIRE(r.ok());
    auto rq = s.k.create_msg_queue(q, &name, 20, {0, 4, 64}, true, le);  // the same end
    REQUIRE(rq.ok());
    proto::MsgRing& ring = s.ring(p, r.value());
    s.wait_pending({q, 1}, {rq.value()});
    CHECK(ring.header().kernel_watch[0].load() == 1);
    s.k.detach_process(q);  // its wait is cancelled, not completed
    CHECK(ring.header().kernel_watch[0].load() == 0);
}

TEST_CASE("A ring changed by a process that died before telling the kernel wakes its waiters",
          "[unit][msgqueue][ring][wait][death]") {
    RingScene s;
    auto p = s.attach();
    auto q = s.attach();
    const std::u16string name = u"told";
    LastError le;
    auto r = s.k.create_msg_queue(p, &name, 20, {0, 4, 64}, true, le);
    auto w = s.k.create_msg_queue(q, &name, 20, {0, 4, 64}, false, le);
    // p holds the writer end too, so q's death closes no end (which would wake the waits).
    auto kept = s.k.create_msg_queue(p, &name, 20, {0, 4, 64}, false, le);
    REQUIRE(r.ok());
    REQUIRE(w.ok());
    REQUIRE(kept.ok());
    proto::MsgRing& ring = s.ring(p, r.value());
    const uint64_t tag = s.wait_pending({p, 1}, {r.value()});
    REQUIRE(write(ring, "last words") == Outcome::done);  // q's write; q dies before its notify
    CHECK_FALSE(s.completed(tag, 0));
    s.k.detach_process(q);
    CHECK(s.completed(tag, 0));
}
