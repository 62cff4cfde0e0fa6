// FileCache: per process, the host descriptor behind each file handle this process uses, sent
// by the kernel once on the socket so that ReadFile, WriteFile, SetFilePointer, GetFileSize and
// FlushFileBuffers run in the process with no round trip. The descriptor shares the kernel's
// open file description, so the file pointer is shared by every process using the handle.
//
// Handles the kernel owns (CreateFileForMapping) can be closed or taken over elsewhere; their
// entries are revalidated with the kernel before each use. Other handles can only lose this
// process's reference through this process's own CloseHandle, which drops the entry.
//
// While this process alone uses a file, the kernel lets it keep the file's position in its
// table of positions (protocol/file_position.h, docs/decisions/0015-file-position.md): the
// entry then names the position's word and a lock the process's threads take turns on.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common/errors.h"

namespace cek::coredll {

struct CachedFile {
    int fd = -1;
    bool read = false;
    bool write = false;
    bool kernel_owned = false;
    bool directory = false;
    // The position this process keeps, or null: the description's.
    std::atomic<uint64_t>* position = nullptr;
    uint16_t generation = 0;
    std::mutex* lock = nullptr;  // held by a call that uses `position`
};

class FileCache {
public:
    static FileCache& instance();
    FileCache();

    // The descriptor for `handle`, fetching it from the kernel the first time.
    // Fails with the kernel's error (ERROR_INVALID_HANDLE, ERROR_SERVICE_NOT_ACTIVE...).
    bool get(uint32_t handle, CachedFile& out, Win32Error& error);
    // The entry for `handle` if this process holds one already (no kernel call).
    bool peek(uint32_t handle, CachedFile& out);
    void forget(uint32_t handle);
    void reset_after_fork();
    // The kernel died: every cached descriptor is replaced (dup3, so the number stays taken
    // and a thread between its check and its write(2) cannot reach another file) by one that
    // refuses reads and writes, and get() fails with ERROR_SERVICE_NOT_ACTIVE from now on.
    void revoke();
    // Held across fork() so that the child never inherits a half-updated map.
    void lock() { mutex_.lock(); }
    void unlock() { mutex_.unlock(); }

private:
    // Maps this process's table of positions at its first file use; false when there is none.
    bool keeps_positions();

    // A plain mutex, not a shared one: glibc's rwlock cannot be released in a fork child
    // (it tells writers by thread id), and the critical sections are a hash lookup.
    std::mutex mutex_;
    std::unordered_map<uint32_t, CachedFile> files_;
    // The table: asked once (0 not yet, 1 being asked, 2 done), by whichever thread gets there
    // first; the others go on without it meanwhile. Per slot, the lock of its file's calls;
    // replaced, never destroyed, after fork() (a parent's thread may have held one).
    std::atomic<int> positions_state_{0};
    std::atomic<uint64_t>* positions_ = nullptr;
    std::mutex* slot_locks_;
};

}  // namespace cek::coredll
