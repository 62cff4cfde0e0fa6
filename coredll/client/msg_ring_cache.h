// MsgRingCache: per process, the ring behind each message-queue handle this process uses
// (protocol/msg_ring.h; docs/decisions/0007-message-queues.md, "rings"). The kernel sends a
// queue's ring once per handle; the process maps it once per queue, and WriteMsgQueue and
// ReadMsgQueue then move messages through it with no round trip.
//
// This process's CloseHandle (or DuplicateHandle with DUPLICATE_CLOSE_SOURCE) of a value drops
// its entry, marks it stale and wakes the threads asleep on its ring: each asks the kernel again
// whether the handle is still held (a close of one of several references leaves it valid). A
// failed call asks too before it reports the queue's state, since the kernel may have broken
// the queue for that very close. The kernel's death wakes every sleeper; calls then fail as
// every call does. Not seen: CE 6's DuplicateHandle by another process closing one of ours with
// DUPLICATE_CLOSE_SOURCE (the entry stays until this process closes the value).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/errors.h"
#include "protocol/messages.h"
#include "protocol/msg_ring.h"

namespace cek::coredll {

// One queue's ring mapped in this process (shared by the handles of both its ends).
struct MappedRing {
    MappedRing(void* base, uint64_t bytes, uint32_t max_messages, uint32_t max_bytes,
               uint64_t queue_id, uint64_t dev, uint64_t ino)
        : ring(base, bytes, max_messages, max_bytes), queue_id(queue_id), dev(dev), ino(ino) {}
    ~MappedRing();
    MappedRing(const MappedRing&) = delete;
    MappedRing& operator=(const MappedRing&) = delete;

    proto::MsgRing ring;
    uint64_t queue_id;
    uint64_t dev;  // the memfd's identity, as the kernel named it
    uint64_t ino;
};

// One handle of this process.
struct RingHandle {
    uint32_t handle = 0;
    bool reader = false;
    std::shared_ptr<MappedRing> ring;  // null: the queue keeps its messages in the kernel
    std::atomic<bool> stale{false};    // this process closed a reference: ask the kernel again
};

class MsgRingCache {
public:
    static MsgRingCache& instance();

    // The entry for `handle`, asking the kernel the first time (and again once stale). Fails
    // with the kernel's error (ERROR_INVALID_HANDLE, ERROR_SERVICE_NOT_ACTIVE...).
    std::shared_ptr<RingHandle> get(uint32_t handle, Win32Error& error);
    // Whether this process still holds `h` as the same end of the same queue, asking the kernel
    // (the cache aside); false with the kernel's error, or ERROR_INVALID_HANDLE.
    bool still_held(const RingHandle& h, Win32Error& error);
    // CloseHandle(handle) by this process: the entry goes, and whoever sleeps on it looks again.
    void forget(uint32_t handle);
    void reset_after_fork();
    // The kernel died: every sleeper wakes (and fails).
    void wake_all();
    // Held across fork() so that the child never inherits a half-updated map.
    void lock() { mutex_.lock(); }
    void unlock() { mutex_.unlock(); }

private:
    std::shared_ptr<MappedRing> map_ring(const proto::MsgQueueRingReply& rep, int fd);

    std::mutex mutex_;
    uint64_t forgets_ = 0;  // forget() calls: a get() that raced one caches nothing
    std::unordered_map<uint32_t, std::shared_ptr<RingHandle>> handles_;
    std::unordered_map<uint64_t, std::weak_ptr<MappedRing>> rings_;  // by queue id
};

// Wakes every thread of any process asleep on `ring`, so that each looks at it again.
void wake_ring_sleepers(proto::MsgRing& ring);

}  // namespace cek::coredll
