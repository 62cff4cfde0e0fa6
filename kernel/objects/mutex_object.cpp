#include "kernel/objects/mutex_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "kernel/core/memfd.h"
#include "kernel/log.h"
#include "protocol/mutex_word.h"

namespace cek::kernel {

MutexObject::~MutexObject() {
    if (word_ != nullptr) {
        if (host_ != nullptr) host_->word_gone(*this);
        ::munmap(word_, proto::kMutexWordBytes);
    }
    if (word_fd_ >= 0) ::close(word_fd_);
}

bool MutexObject::acquire(ThreadRef thread) {
    settle();
    changed();
    if (owner_) {
        ++recursion_;  // the owner again (ready_for checked)
        return false;
    }
    owner_ = thread;
    recursion_ = 1;
    bool was_abandoned = abandoned_;
    abandoned_ = false;
    return was_abandoned;
}

std::optional<bool> MutexObject::release_by(ThreadRef thread) {
    settle();
    if (!owner_ || !(*owner_ == thread)) return std::nullopt;
    changed();
    if (--recursion_ != 0) return false;
    owner_.reset();
    return true;
}

void MutexObject::abandon() {
    settle();
    changed();
    owner_.reset();
    recursion_ = 0;
    abandoned_ = true;
}

void MutexObject::changed() {
    if (word_ != nullptr && host_ != nullptr) host_->word_settled(*this);
}

void MutexObject::forget_published(ProcessId process, std::optional<uint32_t> tid) {
    if (published_owner_ && published_owner_->process == process &&
        (!tid || published_owner_->tid == *tid))
        published_owner_.reset();
}

bool MutexObject::share_word(ProcessId process, MutexWordHost& host) {
    if (word_ == nullptr) {
        // A page of its own: what one process can scribble on is this mutex's word alone.
        const int fd = make_memfd("cek-mutex", proto::kMutexWordBytes, F_SEAL_SEAL);
        struct stat st {};
        void* page = MAP_FAILED;
        if (fd >= 0 && ::fstat(fd, &st) == 0)
            page = ::mmap(nullptr, proto::kMutexWordBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                          fd, 0);
        if (page == MAP_FAILED) {
            log::sync()->warn("making a mutex word failed errno={}", errno);
            if (fd >= 0) ::close(fd);
            return false;
        }
        word_fd_ = fd;
        word_dev_ = st.st_dev;
        word_ino_ = st.st_ino;
        word_ = static_cast<std::atomic<uint64_t>*>(page);
        host_ = &host;
        // The kernel holds the state until the call that asked is done (Kernel publishes it).
        word_->store(proto::kMutexKernel, std::memory_order_relaxed);
        host.word_settled(*this);
    }
    add_holder(process);
    return true;
}

void MutexObject::add_holder(ProcessId process) {
    if (std::find(holders_.begin(), holders_.end(), process) == holders_.end())
        holders_.push_back(process);
}

void MutexObject::forget_holder(ProcessId process) { std::erase(holders_, process); }

std::optional<uint32_t> MutexObject::word_owner_tid() const {
    if (word_ == nullptr) return std::nullopt;
    const uint64_t w = word_->load(std::memory_order_acquire);
    if ((w & proto::kMutexKernel) != 0 || proto::mutex_word_owner(w) == 0) return std::nullopt;
    return proto::mutex_word_owner(w);
}

bool MutexObject::word_in_kernel() const {
    return word_ != nullptr && (word_->load(std::memory_order_acquire) & proto::kMutexKernel) != 0;
}

void MutexObject::settle() const {
    if (word_ == nullptr) return;
    uint64_t w = word_->load(std::memory_order_acquire);
    do {
        if ((w & proto::kMutexKernel) != 0) return;  // held already: the fields are the state
    } while (!word_->compare_exchange_weak(w, proto::kMutexKernel, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
    const uint32_t tid = proto::mutex_word_owner(w);
    const uint32_t count = proto::mutex_word_count(w);
    owner_.reset();
    recursion_ = 0;
    abandoned_ = false;
    std::optional<ThreadRef> published;
    published.swap(published_owner_);
    if (tid != 0 && count != 0) {
        if (published && published->tid == tid) {
            owner_ = *published;  // the kernel's own writing (a death of it settled the word)
            recursion_ = count;
        } else if (auto found = host_ != nullptr ? host_->find_owner(tid, holders_)
                                                 : std::nullopt) {
            owner_ = *found;
            recursion_ = count;
        } else {
            // No holder has that thread: it died owning the mutex (or the word was scribbled).
            abandoned_ = true;
            log::sync()->debug("mutex id={} word names tid {} that no holder has: abandoned",
                               id(), tid);
        }
    } else if (w != 0) {
        abandoned_ = true;  // a value no caller writes: treated as a dead owner's
        log::sync()->debug("mutex id={} word {:#x} is no state: abandoned", id(), w);
    }
    if (host_ != nullptr) host_->word_settled(const_cast<MutexObject&>(*this));
}

bool MutexObject::publish() {
    if (word_ == nullptr) return false;
    const uint64_t w = word_->load(std::memory_order_acquire);
    if ((w & proto::kMutexKernel) == 0) return true;  // the word holds it already
    if (!waits().empty() || abandoned_) return false;
    if (owner_ && (owner_->tid == 0 || recursion_ > proto::kMutexWordMaxCount)) return false;
    // While the kernel holds the word no caller changes it (their swaps expect a state).
    published_owner_ = owner_;
    word_->store(owner_ ? proto::mutex_word(owner_->tid, recursion_) : 0,
                 std::memory_order_release);
    return true;
}

void MutexObject::describe(ObjectDetails& out) const {
    // Looking must not change anything: the word is read, not taken over.
    std::optional<ThreadRef> owner = owner_;
    uint32_t recursion = recursion_;
    bool abandoned = abandoned_;
    if (word_ != nullptr) {
        const uint64_t w = word_->load(std::memory_order_acquire);
        if ((w & proto::kMutexKernel) == 0) {
            owner.reset();
            recursion = proto::mutex_word_count(w);
            abandoned = false;
            if (const uint32_t tid = proto::mutex_word_owner(w); tid != 0) {
                owner = published_owner_ && published_owner_->tid == tid
                            ? published_owner_
                        : host_ != nullptr ? host_->find_owner(tid, holders_)
                                           : std::nullopt;
                if (!owner) owner = ThreadRef{ProcessId{0}, tid};
            }
        }
    }
    if (owner) {
        out.emplace_back("owner", "process " + std::to_string(owner->process.raw) + " tid " +
                                      std::to_string(owner->tid));
        out.emplace_back("recursion", std::to_string(recursion));
    } else {
        out.emplace_back("owner", abandoned ? "none (abandoned)" : "none");
    }
    out.emplace_back("waiters", std::to_string(waits().size()));
    if (word_ != nullptr)
        out.emplace_back("word", (word_->load(std::memory_order_relaxed) & proto::kMutexKernel)
                                     ? "kernel"
                                     : "shared, " + std::to_string(holders_.size()) +
                                           " processes");
}

size_t MutexObject::memory_bytes() const {
    return memory_of<MutexObject>() + holders_.capacity() * sizeof(ProcessId) +
           (word_ != nullptr ? proto::kMutexWordBytes : 0);
}

}  // namespace cek::kernel
