#include "coredll/client/msg_ring_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "coredll/client/connection.h"
#include "coredll/client/log.h"
#include "protocol/futex.h"

namespace cek::coredll {

void wake_ring_sleepers(proto::MsgRing& ring) {
    proto::MsgRingHeader& h = ring.header();
    h.data_seq.fetch_add(1);
    h.room_seq.fetch_add(1);
    proto::futex_wake(h.data_seq, INT_MAX);
    proto::futex_wake(h.room_seq, INT_MAX);
}

MappedRing::~MappedRing() { ::munmap(&ring.header(), ring.bytes()); }

MsgRingCache& MsgRingCache::instance() {
    static MsgRingCache* cache = new MsgRingCache();  // never destroyed (exit-time calls)
    return *cache;
}

std::shared_ptr<MappedRing> MsgRingCache::map_ring(uint64_t queue_id, int fd, uint64_t bytes,
                                                   uint32_t max_messages, uint32_t max_bytes) {
    std::lock_guard lock(mutex_);
    if (auto it = rings_.find(queue_id); it != rings_.end()) {
        if (auto ring = it->second.lock()) {
            if (ring->ring.bytes() == bytes) return ring;
        }
    }
    void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return nullptr;
    auto ring = std::make_shared<MappedRing>(base, bytes, max_messages, max_bytes, queue_id);
    rings_[queue_id] = ring;
    return ring;
}

std::shared_ptr<RingHandle> MsgRingCache::get(uint32_t handle, Win32Error& error) {
    Connection& kernel = Connection::instance();
    if (kernel.kernel_gone()) {
        error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;
        return nullptr;
    }
    {
        std::lock_guard lock(mutex_);
        auto it = handles_.find(handle);
        if (it != handles_.end() && !it->second->stale.load(std::memory_order_acquire))
            return it->second;
    }
    proto::MsgQueueRingRequest req{handle, 0};
    proto::MsgQueueRingReply rep{};
    CallStatus st = kernel.call(req, rep);
    if (!st.delivered || st.failed) {
        error = st.error;
        forget(handle);
        return nullptr;
    }
    auto entry = std::make_shared<RingHandle>();
    entry->handle = handle;
    entry->reader = rep.reader != 0;
    entry->max_bytes = rep.max_bytes;
    if (rep.ring_bytes != 0) {
        const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
        if (fd < 0) {
            error = kernel.kernel_gone() ? Win32Error::ERROR_SERVICE_NOT_ACTIVE
                                         : Win32Error::ERROR_INVALID_HANDLE;
            if (!kernel.kernel_gone())
                log()->error("cannot take the ring of queue handle {:#x}: errno {}", handle, errno);
            return nullptr;
        }
        entry->ring =
            map_ring(rep.queue_id, fd, rep.ring_bytes, rep.max_messages, rep.max_bytes);
        const int err = errno;
        ::close(fd);
        if (!entry->ring) {
            log()->error("cannot map the ring of queue handle {:#x}: errno {}", handle, err);
            error = Win32Error::ERROR_NOT_ENOUGH_MEMORY;
            return nullptr;
        }
    }
    std::lock_guard lock(mutex_);
    handles_[handle] = entry;
    return entry;
}

void MsgRingCache::forget(uint32_t handle) {
    std::shared_ptr<RingHandle> gone;
    {
        std::lock_guard lock(mutex_);
        auto it = handles_.find(handle);
        if (it == handles_.end()) return;
        gone = std::move(it->second);
        handles_.erase(it);
    }
    gone->stale.store(true, std::memory_order_release);
    if (gone->ring) wake_ring_sleepers(gone->ring->ring);
}

void MsgRingCache::reset_after_fork() {
    // The child holds none of its parent's handles; its copies of the rings' mappings go with
    // the entries.
    handles_.clear();
    rings_.clear();
}

void MsgRingCache::wake_all() {
    std::vector<std::shared_ptr<MappedRing>> rings;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, weak] : rings_)
            if (auto r = weak.lock()) rings.push_back(std::move(r));
    }
    for (auto& r : rings) wake_ring_sleepers(r->ring);
}

}  // namespace cek::coredll
