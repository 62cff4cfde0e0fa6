// MsgRingCache: per process, the ring behind each message-queue handle this process uses
// (protocol/msg_ring.h; docs/decisions/0007-message-queues.md, "rings"). The kernel sends a
// queue's ring once per handle; the process maps it once per queue, and WriteMsgQueue and
// ReadMsgQueue then move messages through it with no round trip.
//
// A handle loses this process's reference only through this process's own CloseHandle (CE 5
// refuses DuplicateHandle of a queue end; CE 6's DUPLICATE_CLOSE_SOURCE names the caller's
// handles), which marks the entry stale and wakes the threads asleep on its ring: each asks the
// kernel again whether the handle is still held (a close of one of several references leaves it
// valid). The kernel's death wakes every sleeper too; calls then fail as every call does.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/errors.h"
#include "protocol/msg_ring.h"

namespace cek::coredll {

// One queue's ring mapped in this process (shared by the handles of both its ends).
struct MappedRing {
    MappedRing(void* base, uint64_t bytes, uint32_t max_messages, uint32_t max_bytes,
               uint64_t queue_id)
        : ring(base, bytes, max_messages, max_bytes), queue_id(queue_id) {}
    ~MappedRing();
    MappedRing(const MappedRing&) = delete;
    MappedRing& operator=(const MappedRing&) = delete;

    proto::MsgRing ring;
    uint64_t queue_id;
};

// One handle of this process.
struct RingHandle {
    uint32_t handle = 0;
    bool reader = false;
    uint32_t max_bytes = 0;
    std::shared_ptr<MappedRing> ring;  // null: the queue keeps its messages in the kernel
    std::atomic<bool> stale{false};    // this process closed a reference: ask the kernel again
};

class MsgRingCache {
public:
    static MsgRingCache& instance();

    // The entry for `handle`, asking the kernel the first time (and again once stale). Fails
    // with the kernel's error (ERROR_INVALID_HANDLE, ERROR_SERVICE_NOT_ACTIVE...).
    std::shared_ptr<RingHandle> get(uint32_t handle, Win32Error& error);
    // CloseHandle(handle) by this process: the entry goes, and whoever sleeps on it looks again.
    void forget(uint32_t handle);
    void reset_after_fork();
    // The kernel died: every sleeper wakes (and fails).
    void wake_all();
    // Held across fork() so that the child never inherits a half-updated map.
    void lock() { mutex_.lock(); }
    void unlock() { mutex_.unlock(); }

private:
    std::shared_ptr<MappedRing> map_ring(uint64_t queue_id, int fd, uint64_t bytes,
                                         uint32_t max_messages, uint32_t max_bytes);

    std::mutex mutex_;
    std::unordered_map<uint32_t, std::shared_ptr<RingHandle>> handles_;
    std::unordered_map<uint64_t, std::weak_ptr<MappedRing>> rings_;  // by queue id
};

// Wakes every thread of any process asleep on `ring`, so that each looks at it again.
void wake_ring_sleepers(proto::MsgRing& ring);

}  // namespace cek::coredll
