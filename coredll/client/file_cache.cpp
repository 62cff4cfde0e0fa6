#include "coredll/client/file_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

#include "coredll/client/connection.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
#include "protocol/file_position.h"
#include "protocol/messages.h"

namespace cek::coredll {

namespace {

std::mutex* new_slot_locks() { return new std::mutex[proto::kPositionSlots]; }

}  // namespace

FileCache& FileCache::instance() {
    static FileCache* cache = new FileCache();  // never destroyed (exit-time calls)
    return *cache;
}

FileCache::FileCache() : slot_locks_(new_slot_locks()) {}

bool FileCache::keeps_positions() {
    int state = positions_state_.load(std::memory_order_acquire);
    if (state == 0 && positions_state_.compare_exchange_strong(state, 1)) {
        Connection& kernel = Connection::instance();
        proto::FilePositionsRequest req{};
        proto::FilePositionsReply rep{};
        CallStatus st = kernel.call(req, rep);
        void* table = MAP_FAILED;
        if (st.delivered && !st.failed && rep.available != 0) {
            const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
            if (fd >= 0) {
                table = ::mmap(nullptr, proto::kPositionTableBytes, PROT_READ | PROT_WRITE,
                               MAP_SHARED, fd, 0);
                ::close(fd);
            }
            if (table == MAP_FAILED && !kernel.kernel_gone())
                log().debug("no table of file positions: errno {}", errno);
        }
        if (table != MAP_FAILED) positions_ = static_cast<std::atomic<uint64_t>*>(table);
        positions_state_.store(2, std::memory_order_release);
        return positions_ != nullptr;
    }
    return state == 2 && positions_ != nullptr;
}

bool FileCache::get(uint32_t handle, CachedFile& out, Win32Error& error) {
    if (Connection::instance().kernel_gone()) {
        error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;
        return false;
    }
    bool cached = false;
    {
        DeferredLock lock(mutex_);
        auto it = files_.find(handle);
        if (it != files_.end()) {
            out = it->second;
            cached = true;
        }
    }
    if (cached && !out.kernel_owned) return true;
    // First use, or a kernel-owned handle: ask the kernel (which also validates the handle),
    // and for the descriptor only when we do not hold it yet.
    const bool keep = !cached && keeps_positions();
    proto::FileDescriptorRequest req{handle, cached ? 0u : 1u, keep ? 1u : 0u, 0};
    proto::FileDescriptorReply rep{};
    CallStatus st = Connection::instance().call(req, rep);
    if (!st.delivered || st.failed) {
        error = st.error;
        if (cached) forget(handle);
        return false;
    }
    if (cached) return true;
    int fd = Connection::instance().take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
    if (fd < 0 && Connection::instance().kernel_gone()) {
        error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;  // it died after its reply
        return false;
    }
    if (fd < 0) {
        log().error("cannot take the descriptor of handle {:#x}: errno {}", handle, errno);
        error = Win32Error::ERROR_INVALID_HANDLE;
        return false;
    }
    CachedFile entry{fd, rep.read != 0, rep.write != 0, rep.kernel_owned != 0, rep.directory != 0};
    const uint32_t slot = proto::position_ref_slot(rep.position);
    if (keep && rep.position != 0 && slot < proto::kPositionSlots) {
        entry.position = &positions_[slot];
        entry.generation = proto::position_ref_generation(rep.position);
        entry.lock = &slot_locks_[slot];
    }
    DeferredLock lock(mutex_);
    auto [it, inserted] = files_.emplace(handle, entry);
    if (!inserted) ::close(fd);  // another thread of ours got there first
    out = it->second;
    return true;
}

bool FileCache::peek(uint32_t handle, CachedFile& out) {
    DeferredLock lock(mutex_);
    auto it = files_.find(handle);
    if (it == files_.end()) return false;
    out = it->second;
    return true;
}

void FileCache::forget(uint32_t handle) {
    DeferredLock lock(mutex_);
    auto it = files_.find(handle);
    if (it == files_.end()) return;
    ::close(it->second.fd);
    files_.erase(it);
}

void FileCache::revoke() {
    DeferredLock lock(mutex_);
    if (files_.empty()) return;
    // An O_PATH descriptor: read, write, ftruncate and fsync on it all fail with EBADF.
    int refuses = ::open("/", O_PATH | O_CLOEXEC);
    if (refuses < 0) {
        log().error("cannot revoke the files of a dead kernel: errno {}", errno);
        return;
    }
    for (auto& [h, f] : files_) ::dup3(refuses, f.fd, O_CLOEXEC);
    ::close(refuses);
    log().debug("revoked {} file descriptors of a dead kernel", files_.size());
}

void FileCache::reset_after_fork() {
    // The child is a new CE process with no handles: drop every inherited descriptor.
    for (auto& [h, f] : files_) ::close(f.fd);
    files_.clear();
    // Its parent's table is none of its business: it asks for its own.
    if (positions_ != nullptr) ::munmap(positions_, proto::kPositionTableBytes);
    positions_ = nullptr;
    positions_state_.store(0, std::memory_order_relaxed);
    slot_locks_ = new_slot_locks();
}

}  // namespace cek::coredll
