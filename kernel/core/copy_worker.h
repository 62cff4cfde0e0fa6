// CopyWorker: the one thread besides the kernel loop. It moves the data of background copies
// (CopyFileW longer than one chunk) and closes the descriptors whose close can wait for the
// disk, so that a file system that throttles or flushes (ext4 write-back under a heavy writer)
// stalls only the copier, never the loop and the neighbours it serves.
//
// It knows nothing of the kernel's objects: it steps fsys::Root::CopyJob (which touches only
// its own descriptors and position) round robin, a chunk at a time, and hands each finished job
// back through take_finished(); the kernel thread then renames it into place and answers. The
// jobs stay owned by the kernel; a job is the worker's from submit() until take_finished()
// returns it. ready_fd() is an eventfd, readable while finished jobs wait, for the loop's epoll.
//
// Threading: every public member is for the kernel thread; the worker runs run().
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "fsys/root.h"
#include "fsys/unique_fd.h"

namespace cek::kernel {

class CopyWorker {
public:
    // `chunk`: bytes per step, so that jobs take turns and a cancel waits for one chunk at most.
    explicit CopyWorker(uint64_t chunk);
    ~CopyWorker();  // stops after the current step; the jobs it held are the kernel's to drop
    CopyWorker(const CopyWorker&) = delete;
    CopyWorker& operator=(const CopyWorker&) = delete;

    int ready_fd() const { return ready_.get(); }
    void submit(fsys::Root::CopyJob* job);
    // Stops `job` at its next step: it comes back finished with ERROR_OPERATION_ABORTED (or
    // with its own result if it finished first).
    void cancel(fsys::Root::CopyJob* job);
    // Closes `fd` on the worker (a replaced file: its release can wait for write-back).
    void dispose(fsys::UniqueFd fd);

    struct Finished {
        fsys::Root::CopyJob* job;
        Result<void> data;  // the data is complete, or why not
    };
    bool has_finished() const { return has_finished_.load(std::memory_order_acquire); }
    std::vector<Finished> take_finished();

private:
    void run();
    void finish(fsys::Root::CopyJob* job, Result<void> data);  // with mutex_ held

    const uint64_t chunk_;
    fsys::UniqueFd ready_;  // eventfd
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<fsys::Root::CopyJob*> queue_;  // waiting for a step, in turn
    fsys::Root::CopyJob* current_ = nullptr;  // being stepped, outside the lock
    bool cancel_current_ = false;
    std::vector<fsys::UniqueFd> disposals_;
    std::vector<Finished> finished_;
    std::atomic<bool> has_finished_{false};
    bool stopping_ = false;
    std::thread thread_;  // last: starts once the rest exists
};

}  // namespace cek::kernel
