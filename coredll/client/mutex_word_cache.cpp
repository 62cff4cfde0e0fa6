#include "coredll/client/mutex_word_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include "coredll/client/connection.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
#include "protocol/messages.h"
#include "protocol/mutex_word.h"

namespace cek::coredll {

MappedMutexWord::~MappedMutexWord() { ::munmap(page_, proto::kMutexWordBytes); }

MutexWordCache& MutexWordCache::instance() {
    static MutexWordCache* cache = new MutexWordCache;  // never destroyed: used until exit
    return *cache;
}

void MutexWordCache::note_mutex(uint32_t handle) {
    // A value seen before belonged to another object (closed where this process did not see
    // it): the new mutex's word is asked for afresh.
    DeferredLock lock(mutex_);
    ++forgets_;
    handles_.insert_or_assign(handle, Entry{});
}

std::shared_ptr<MappedMutexWord> MutexWordCache::get(uint32_t handle) {
    // A dead kernel fails every call (ERROR_SERVICE_NOT_ACTIVE), these too.
    if (Connection::instance().kernel_gone()) return nullptr;
    uint64_t forgets = 0;
    {
        DeferredLock lock(mutex_);
        auto it = handles_.find(handle);
        if (it == handles_.end()) return nullptr;
        if (it->second.asked) return it->second.word;
        forgets = forgets_;
    }
    std::shared_ptr<MappedMutexWord> word = ask(handle);
    DeferredLock lock(mutex_);
    // A close of this value while the kernel answered: this call uses what it got, the next
    // one finds no entry and goes to the kernel.
    if (forgets == forgets_)
        if (auto it = handles_.find(handle); it != handles_.end()) it->second = Entry{true, word};
    return word;
}

std::shared_ptr<MappedMutexWord> MutexWordCache::ask(uint32_t handle) {
    Connection& kernel = Connection::instance();
    proto::MutexWordRequest req{handle, 0};
    proto::MutexWordReply rep{};
    CallStatus st = kernel.call(req, rep);
    if (!st.delivered || st.failed || rep.available == 0) return nullptr;
    const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
    if (fd < 0) {
        if (!kernel.kernel_gone())
            log().error("cannot take the word of mutex handle {:#x}: errno {}", handle, errno);
        return nullptr;
    }
    {
        DeferredLock lock(mutex_);
        if (auto it = words_.find(rep.object_id); it != words_.end())
            if (auto mapped = it->second.lock()) {
                ::close(fd);
                return mapped;
            }
    }
    void* page = ::mmap(nullptr, proto::kMutexWordBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int err = errno;
    ::close(fd);
    if (page == MAP_FAILED) {
        log().debug("cannot map the word of mutex handle {:#x}: errno {}", handle, err);
        return nullptr;  // the kernel path works without it
    }
    auto mapped = std::make_shared<MappedMutexWord>(page, rep.object_id);
    DeferredLock lock(mutex_);
    auto& slot = words_[rep.object_id];
    if (auto other = slot.lock()) return other;  // another thread mapped it meanwhile
    slot = mapped;
    return mapped;
}

void MutexWordCache::forget(uint32_t handle) {
    DeferredLock lock(mutex_);
    ++forgets_;
    auto it = handles_.find(handle);
    if (it == handles_.end()) return;
    const uint64_t object = it->second.word ? it->second.word->object_id() : 0;
    handles_.erase(it);
    if (auto w = words_.find(object); w != words_.end() && w->second.expired()) words_.erase(w);
}

void MutexWordCache::reset_after_fork() {
    // The child holds none of its parent's handles; its copies of the words go with the
    // entries.
    handles_.clear();
    words_.clear();
}

}  // namespace cek::coredll
