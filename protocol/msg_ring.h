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
// Trust: every process with a handle of the queue can write anything here. The operations below
// check what they read (counts, sizes) so that a scribbled ring fails the calls on that queue
// (ERROR_INVALID_HANDLE) and never reaches outside the ring; the kernel reads only counters.
// This header names no Win32 error: the shim includes it beside <windows.h>.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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
    uint32_t reserved[3];
    pthread_mutex_t lock;  // process-shared, robust: a holder's death hands it on
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
    static bool init(void* base, uint32_t max_messages, uint32_t max_bytes, uint32_t state) {
        auto* h = new (base) MsgRingHeader{};
        h->magic = kMsgRingMagic;
        h->max_messages = max_messages;
        h->max_bytes = max_bytes;
        h->cell_bytes = msg_ring_cell_bytes(max_bytes);
        h->state.store(state);
        pthread_mutexattr_t a;
        if (pthread_mutexattr_init(&a) != 0) return false;
        const bool ok = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
                        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 &&
                        pthread_mutex_init(&h->lock, &a) == 0;
        pthread_mutexattr_destroy(&a);
        return ok;
    }

    // Lock-free reads, for waits and GetMsgQueueInfo: never more than the queue can hold.
    uint32_t count() const {
        const uint32_t n = header().tail.load() - header().head.load();
        return std::min(n, max_messages_);
    }
    bool has_message() const { return header().alert.load() != 0 || count() != 0; }
    bool has_room() const { return count() < max_messages_; }
    uint32_t high_water() const { return std::min(header().high_water.load(), max_messages_); }

    // done: the message moved; wait: the queue is full (empty); not_connected: broken, or the
    // other end missing without ALLOW_BROKEN (ERROR_PIPE_NOT_CONNECTED); unusable: the ring's
    // lock or counts are not what any client could have left (ERROR_INVALID_HANDLE).
    enum class Outcome { done, wait, not_connected, unusable };
    struct Taken {
        uint32_t size = 0;   // bytes copied
        uint32_t flags = 0;
        bool truncated = false;
    };

    // WriteMsgQueue's steps 4-6 (the handle and the size were checked by the caller).
    Outcome write(const void* data, uint32_t size, uint32_t flags) {
        if (!lock()) return Outcome::unusable;
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
        pthread_mutex_unlock(&h.lock);
        return out;
    }

    // ReadMsgQueue's steps 4-6 into `out` (`capacity` > 0 bytes): the alert message if there is
    // one, else the oldest, cut to `capacity` (the rest dropped).
    Outcome read(void* out, uint32_t capacity, Taken& taken) {
        if (!lock()) return Outcome::unusable;
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
        pthread_mutex_unlock(&h.lock);
        return result;
    }

private:
    // Not broken, and the other end there or ALLOW_BROKEN (§5.5 step 4).
    bool connected(uint32_t other_end) const {
        const uint32_t s = header().state.load();
        return (s & kRingBroken) == 0 && ((s & kRingAllowBroken) != 0 || (s & other_end) != 0);
    }
    bool lock() {
        const int r = pthread_mutex_lock(&header().lock);
        if (r == 0) return true;
        // Its holder died inside a call: every change is made visible by the last store of a
        // call (head, tail, alert), so what is there is consistent.
        return r == EOWNERDEAD && pthread_mutex_consistent(&header().lock) == 0;
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
