#include "coredll/client/file_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>

#include "coredll/client/connection.h"
#include "coredll/client/log.h"

namespace cek::coredll {

FileCache& FileCache::instance() {
    static FileCache* cache = new FileCache();  // never destroyed (exit-time calls)
    return *cache;
}

bool FileCache::get(uint32_t handle, CachedFile& out, Win32Error& error) {
    if (Connection::instance().kernel_gone()) {
        error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;
        return false;
    }
    bool cached = false;
    {
        std::lock_guard lock(mutex_);
        auto it = files_.find(handle);
        if (it != files_.end()) {
            out = it->second;
            cached = true;
        }
    }
    if (cached && !out.kernel_owned) return true;
    // First use, or a kernel-owned handle: ask the kernel (which also validates the handle),
    // and for the descriptor only when we do not hold it yet.
    proto::FileDescriptorRequest req{handle, cached ? 0u : 1u};
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
    std::lock_guard lock(mutex_);
    auto [it, inserted] = files_.emplace(handle, entry);
    if (!inserted) ::close(fd);  // another thread of ours got there first
    out = it->second;
    return true;
}

void FileCache::forget(uint32_t handle) {
    std::lock_guard lock(mutex_);
    auto it = files_.find(handle);
    if (it == files_.end()) return;
    ::close(it->second.fd);
    files_.erase(it);
}

void FileCache::revoke() {
    std::lock_guard lock(mutex_);
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
}

}  // namespace cek::coredll
