#include "kernel/core/copy_worker.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>


namespace cek::kernel {

CopyWorker::CopyWorker(uint64_t chunk)
    : chunk_(chunk), ready_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!ready_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
    // Every signal stays the loop's (SIGTERM through its signalfd): the thread starts with all
    // of them blocked.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    thread_ = std::thread([this] { run(); });
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

CopyWorker::~CopyWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void CopyWorker::submit(fsys::Root::CopyJob* job) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(job);
    }
    wake_.notify_one();
}

void CopyWorker::cancel(fsys::Root::CopyJob* job) {
    std::lock_guard lock(mutex_);
    if (current_ == job) {
        cancel_current_ = true;
    } else if (auto it = std::find(queue_.begin(), queue_.end(), job); it != queue_.end()) {
        queue_.erase(it);
        finish(job, Win32Error::ERROR_OPERATION_ABORTED);
    }  // else it finished already and waits in finished_
}

void CopyWorker::dispose(fsys::UniqueFd fd) {
    {
        std::lock_guard lock(mutex_);
        disposals_.push_back(std::move(fd));
    }
    wake_.notify_one();
}

std::vector<CopyWorker::Finished> CopyWorker::take_finished() {
    std::lock_guard lock(mutex_);
    uint64_t count;
    (void)!::read(ready_.get(), &count, sizeof count);  // empties the eventfd (it is non-blocking)
    has_finished_.store(false, std::memory_order_relaxed);
    return std::exchange(finished_, {});
}

void CopyWorker::finish(fsys::Root::CopyJob* job, Result<void> data) {
    finished_.push_back({job, std::move(data)});
    has_finished_.store(true, std::memory_order_release);
    const uint64_t one = 1;
    (void)!::write(ready_.get(), &one, sizeof one);
}

void CopyWorker::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !disposals_.empty(); });
        if (stopping_) return;
        if (!disposals_.empty()) {
            auto closing = std::exchange(disposals_, {});
            lock.unlock();
            closing.clear();  // the closes, outside the lock
            lock.lock();
            continue;
        }
        current_ = queue_.front();
        queue_.pop_front();
        lock.unlock();
        Result<bool> step = current_->step(chunk_);
        lock.lock();
        fsys::Root::CopyJob* job = std::exchange(current_, nullptr);
        if (std::exchange(cancel_current_, false)) {
            finish(job, Win32Error::ERROR_OPERATION_ABORTED);
        } else if (!step) {
            finish(job, step.error());  // the kernel logs it
        } else if (step.value()) {
            finish(job, {});
        } else {
            queue_.push_back(job);  // its turn comes again after the others'
        }
    }
}

}  // namespace cek::kernel
