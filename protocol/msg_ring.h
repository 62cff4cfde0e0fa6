// The shared ring of a CE message queue (docs/decisions/0007-message-queues.md, "rings"): the
// memory through which a bounded queue's writers and readers move messages between processes
// without the kernel. The kernel creates it (a sealed memfd) with the queue and owns its `state`
// (which ends exist, broken); the clients that hold the queue's handles own everything else and
// move messages under the ring's lock, which the kernel never takes.
//
// Layout: a MsgRingHeader, then max_messages + 1 cells of `cell_bytes` each: cell 0 is the alert
// slot (MSGQUEUE_MSGALERT), cells 1.. hold the ordinary messages in order, `head` the oldest and
// `tail` the next free (both counts that wrap; `tail - head` messages are queued).
//
// The lock is a word holding its owner's Linux thread id (0: free); a holder that died is
// found by looking its thread up (a caller that waited a while asks) and the lock is taken
// over: every call's last store (head, tail, alert) publishes it, so what is there is
// consistent. No pointer lives in the ring.
//
// Trust: every process with a handle of the queue can write anything here. The operations below
// check what they read (counts, sizes) so that a scribbled ring fails the calls on that queue
// (ERROR_INVALID_HANDLE) and never reaches outside the ring; the kernel reads only counters.
// A process can still hold the lock or leave the queue full: it disturbs that queue alone.
// This header names no Win32 error: the shim includes it beside <windows.h>.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "protocol/ce_constants.h"

namespace cek::proto {

inline constexpr uint32_t kMsgRingMagic = 0x52514543;  // "CEQR"
// Queues whose ring would be larger stay in the kernel (unbounded ones too).
inline constexpr uint64_t kMsgRingMaxBytes = uint64_t{1} << 20;
inline constexpr size_t kMsgRingHeaderBytes = 256;

// MsgRingHeader::state, written by the kernel only.
inline constexpr uint32_t kRingReaderEnd = 1;    // the reader end has a handle
inline constexpr uint32_t kRingWriterEnd = 2;    // the writer end has a handle
inline constexpr uint32_t kRingBroken = 4;       // §5.6: every message is gone, for good
inline constexpr uint32_t kRingAllowBroken = 8;  // MSGQUEUE_ALLOW_BROKEN

struct MsgRingHeader {
    uint32_t magic;
    uint32_t max_messages;
    uint32_t max_bytes;
    uint32_t cell_bytes;
    std::atomic<uint32_t> state;
    std::atomic<uint32_t> head;        // under the lock
    std::atomic<uint32_t> tail;        // under the lock
    std::atomic<uint32_t> alert;       // 1 while the alert slot holds a message (under the lock)
    std::atomic<uint32_t> high_water;  // under the lock
    // Futex words: bumped when a message arrives (readers sleep on it) and when one leaves
    // (writers sleep on it), and by the kernel when the queue's ends change.
    std::atomic<uint32_t> data_seq;
    std::atomic<uint32_t> room_seq;
    std::atomic<uint32_t> read_sleepers;
    std::atomic<uint32_t> write_sleepers;
    // Kernel waits listed on the reader end [0] and the writer end [1] (set by the kernel): a
    // client that changes what that end's readiness depends on tells the kernel (MsgQueueNotify).
    std::atomic<uint32_t> kernel_watch[2];
    std::atomic<uint32_t> lock;          // the holder's Linux tid, 0 when free (clients only)
    std::atomic<uint32_t> lock_waiters;  // callers asleep on `lock`
    // The CPU each side (0: readers, 1: writers) last moved a message on: a hint for whether
    // spinning can pay (the other side on another CPU) or yielding can (on this one).
    std::atomic<uint32_t> cpu[2];
};
static_assert(sizeof(MsgRingHeader) <= kMsgRingHeaderBytes);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

struct MsgRingCell {
    uint32_t size;
    uint32_t flags;  // kMsgQueueMsgAlert kept on a message that missed the alert slot
    // `size` bytes follow
};

inline uint32_t msg_ring_cell_bytes(uint32_t max_bytes) {
    return (static_cast<uint32_t>(sizeof(MsgRingCell)) + max_bytes + 7u) & ~7u;
}
// The ring's size for a queue, or 0 when the queue keeps its messages in the kernel.
inline uint64_t msg_ring_bytes(uint32_t max_messages, uint32_t max_bytes) {
    if (max_messages == 0 || max_bytes == 0) return 0;
    const uint64_t n = kMsgRingHeaderBytes +
                       (uint64_t{max_messages} + 1) * msg_ring_cell_bytes(max_bytes);
    const uint64_t rounded = (n + 4095) & ~uint64_t{4095};
    return rounded <= kMsgRingMaxBytes ? rounded : 0;
}

// A ring mapped in this process, `bytes` long, for a queue of `max_messages` x `max_bytes` (the
// values the kernel replied, never the header's copies).
class MsgRing {
public:
    MsgRing(void* base, uint64_t bytes, uint32_t max_messages, uint32_t max_bytes)
        : base_(static_cast<std::byte*>(base)), bytes_(bytes), max_messages_(max_messages),
          max_bytes_(max_bytes), cell_bytes_(msg_ring_cell_bytes(max_bytes)) {}

    MsgRingHeader& header() const { return *reinterpret_cast<MsgRingHeader*>(base_); }
    uint32_t max_messages() const { return max_messages_; }
    uint32_t max_bytes() const { return max_bytes_; }
    uint64_t bytes() const { return bytes_; }

    // The kernel's side: a new ring (the memory zero-filled).
    static void init(void* base, uint32_t max_messages, uint32_t max_bytes, uint32_t state) {
        auto* h = new (base) MsgRingHeader{};
        h->magic = kMsgRingMagic;
        h->max_messages = max_messages;
        h->max_bytes = max_bytes;
        h->cell_bytes = msg_ring_cell_bytes(max_bytes);
        h->state.store(state);
    }

    // The lock, for thread `tid`; never blocks.
    bool try_lock(uint32_t tid) {
        uint32_t free = 0;
        return header().lock.compare_exchange_strong(free, tid);
    }
    // Takes over the lock from `holder`, which the caller found gone (died inside a call).
    bool take_over(uint32_t holder, uint32_t tid) {
        return holder != 0 && header().lock.compare_exchange_strong(holder, tid);
    }
    // Returns whether a caller sleeps on the lock (the unlocker then wakes one).
    bool unlock() {
        header().lock.store(0);
        return header().lock_waiters.load() != 0;
    }

    // Lock-free reads, for waits and GetMsgQueueInfo: never more than the queue can hold. The
    // head first: the tail never falls behind a head read before it.
    uint32_t count() const {
        const uint32_t head = header().head.load();
        const uint32_t n = header().tail.load() - head;
        return std::min(n, max_messages_);
    }
    bool has_message() const { return header().alert.load() != 0 || count() != 0; }
    bool has_room() const { return count() < max_messages_; }
    uint32_t high_water() const { return std::min(header().high_water.load(), max_messages_); }

    // done: the message moved; wait: the queue is full (empty); not_connected: broken, or the
    // other end missing without ALLOW_BROKEN (ERROR_PIPE_NOT_CONNECTED); unusable: the ring's
    // counts are not what any client could have left (ERROR_INVALID_HANDLE).
    enum class Outcome { done, wait, not_connected, unusable };
    struct Taken {
        uint32_t size = 0;   // bytes copied
        uint32_t flags = 0;
        bool truncated = false;
    };

    // WriteMsgQueue's steps 4-6 (the handle and the size were checked by the caller), with the
    // lock held.
    Outcome write_locked(const void* data, uint32_t size, uint32_t flags) {
        MsgRingHeader& h = header();
        Outcome out = Outcome::done;
        const uint32_t head = h.head.load(std::memory_order_relaxed);
        const uint32_t tail = h.tail.load(std::memory_order_relaxed);
        const bool alert = (flags & ce::kMsgQueueMsgAlert) != 0;
        if (!connected(kRingReaderEnd)) {
            out = Outcome::not_connected;
        } else if (tail - head > max_messages_) {
            out = Outcome::unusable;  // not a ring any client could have left
        } else if (alert && h.alert.load(std::memory_order_relaxed) == 0) {
            put(0, data, size, ce::kMsgQueueMsgAlert);
            h.alert.store(1);
            h.data_seq.fetch_add(1);
        } else if (tail - head < max_messages_) {
            put(1 + tail % max_messages_, data, size, alert ? ce::kMsgQueueMsgAlert : 0);
            h.tail.store(tail + 1);
            if (tail + 1 - head > h.high_water.load(std::memory_order_relaxed))
                h.high_water.store(tail + 1 - head);
            h.data_seq.fetch_add(1);
        } else {
            out = Outcome::wait;
        }
        return out;
    }

    // ReadMsgQueue's steps 4-6 into `out` (`capacity` > 0 bytes), with the lock held: the alert
    // message if there is one, else the oldest, cut to `capacity` (the rest dropped).
    Outcome read_locked(void* out, uint32_t capacity, Taken& taken) {
        MsgRingHeader& h = header();
        Outcome result = Outcome::done;
        const uint32_t head = h.head.load(std::memory_order_relaxed);
        const uint32_t tail = h.tail.load(std::memory_order_relaxed);
        if (!connected(kRingWriterEnd)) {
            result = Outcome::not_connected;
        } else if (tail - head > max_messages_) {
            result = Outcome::unusable;
        } else if (h.alert.load(std::memory_order_relaxed) != 0) {
            take(0, out, capacity, taken);
            h.alert.store(0);
            h.room_seq.fetch_add(1);
        } else if (tail != head) {
            take(1 + head % max_messages_, out, capacity, taken);
            h.head.store(head + 1);
            h.room_seq.fetch_add(1);
        } else {
            result = Outcome::wait;
        }
        return result;
    }

private:
    // Not broken, and the other end there or ALLOW_BROKEN (§5.5 step 4).
    bool connected(uint32_t other_end) const {
        const uint32_t s = header().state.load();
        return (s & kRingBroken) == 0 && ((s & kRingAllowBroken) != 0 || (s & other_end) != 0);
    }
    MsgRingCell* cell(uint32_t index) const {
        return reinterpret_cast<MsgRingCell*>(base_ + kMsgRingHeaderBytes +
                                              uint64_t{index} * cell_bytes_);
    }
    void put(uint32_t index, const void* data, uint32_t size, uint32_t flags) {
        MsgRingCell* c = cell(index);
        std::memcpy(c + 1, data, size);
        c->size = size;
        c->flags = flags;
    }
    void take(uint32_t index, void* out, uint32_t capacity, Taken& taken) {
        const MsgRingCell* c = cell(index);
        const uint32_t size = std::min(c->size, max_bytes_);
        taken.size = std::min(size, capacity);
        taken.truncated = size > capacity;
        taken.flags = c->flags & ce::kMsgQueueMsgAlert;
        std::memcpy(out, c + 1, taken.size);
    }

    std::byte* base_;
    uint64_t bytes_;
    uint32_t max_messages_;
    uint32_t max_bytes_;
    uint32_t cell_bytes_;
};

}  // namespace cek::proto
