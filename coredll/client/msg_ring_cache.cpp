#include "coredll/client/msg_ring_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "coredll/client/connection.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
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

std::shared_ptr<MappedRing> MsgRingCache::map_ring(const proto::MsgQueueRingReply& rep, int fd) {
    DeferredLock lock(mutex_);
    if (auto it = rings_.find(rep.queue_id); it != rings_.end()) {
        auto ring = it->second.lock();
        if (ring && ring->dev == rep.dev && ring->ino == rep.ino &&
            ring->ring.bytes() == rep.ring_bytes && ring->ring.max_messages() == rep.max_messages &&
            ring->ring.max_bytes() == rep.max_bytes)
            return ring;
    }
    void* base = ::mmap(nullptr, rep.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) return nullptr;
    auto ring = std::make_shared<MappedRing>(base, rep.ring_bytes, rep.max_messages,
                                             rep.max_bytes, rep.queue_id, rep.dev, rep.ino);
    rings_[rep.queue_id] = ring;
    return ring;
}

std::shared_ptr<RingHandle> MsgRingCache::get(uint32_t handle, Win32Error& error) {
    Connection& kernel = Connection::instance();
    if (kernel.kernel_gone()) {
        error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;
        return nullptr;
    }
    uint64_t forgets = 0;
    {
        DeferredLock lock(mutex_);
        auto it = handles_.find(handle);
        if (it != handles_.end()) return it->second;
        forgets = forgets_;
    }
    proto::MsgQueueRingRequest req{handle, 1};
    proto::MsgQueueRingReply rep{};
    CallStatus st = kernel.call(req, rep);
    if (!st.delivered || st.failed) {
        error = st.error;
        return nullptr;
    }
    auto entry = std::make_shared<RingHandle>();
    entry->handle = handle;
    entry->reader = rep.reader != 0;
    if (rep.ring_bytes != 0) {
        const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
        if (fd < 0) {
            error = kernel.kernel_gone() ? Win32Error::ERROR_SERVICE_NOT_ACTIVE
                                         : Win32Error::ERROR_INVALID_HANDLE;
            if (!kernel.kernel_gone())
                log().error("cannot take the ring of queue handle {:#x}: errno {}", handle, errno);
            return nullptr;
        }
        entry->ring = map_ring(rep, fd);
        const int err = errno;
        ::close(fd);
        if (!entry->ring) {
            log().error("cannot map the ring of queue handle {:#x}: errno {}", handle, err);
            error = Win32Error::ERROR_NOT_ENOUGH_MEMORY;
            return nullptr;
        }
    }
    DeferredLock lock(mutex_);
    // A close of this value while the kernel answered may have come after its answer: this
    // call uses what it got, later ones ask again.
    if (forgets == forgets_) handles_.emplace(handle, entry);
    return entry;
}

bool MsgRingCache::still_held(const RingHandle& h, Win32Error& error) {
    proto::MsgQueueRingRequest req{h.handle, 0};
    proto::MsgQueueRingReply rep{};
    CallStatus st = Connection::instance().call(req, rep);
    if (!st.delivered || st.failed) {
        error = st.error;
        return false;
    }
    const bool same_ring = h.ring == nullptr
                               ? rep.ring_bytes == 0
                               : rep.ring_bytes != 0 && rep.queue_id == h.ring->queue_id &&
                                     rep.dev == h.ring->dev && rep.ino == h.ring->ino;
    const bool same = (rep.reader != 0) == h.reader && same_ring;
    if (!same) error = Win32Error::ERROR_INVALID_HANDLE;  // the value names something else now
    return same;
}

void MsgRingCache::forget(uint32_t handle) {
    std::shared_ptr<RingHandle> gone;
    {
        DeferredLock lock(mutex_);
        ++forgets_;
        auto it = handles_.find(handle);
        if (it == handles_.end()) return;
        gone = std::move(it->second);
        handles_.erase(it);
        // The queue's last entry here: its slot in rings_ goes too (the mapping goes with the
        // last thread that still uses it).
        if (gone->ring && gone->ring.use_count() == 1) rings_.erase(gone->ring->queue_id);
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
        DeferredLock lock(mutex_);
        for (auto& [id, weak] : rings_)
            if (auto r = weak.lock()) rings.push_back(std::move(r));
    }
    for (auto& r : rings) wake_ring_sleepers(r->ring);
}

}  // namespace cek::coredll
