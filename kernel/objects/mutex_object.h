// MutexObject: a CE mutex, owned by one thread at a time and recursive for its owner. When the
// owner's thread or process dies without releasing it, the mutex is abandoned: the next thread
// to get it is told so (WAIT_ABANDONED) and owns it as usual from then on.
//
// Once a process asked for it (Kernel::mutex_word), the mutex also has a shared word
// (protocol/mutex_word.h) through which its holders take and release it without the kernel
// while no thread waits. Then the word, not the fields here, is the state, until the kernel
// takes it over: every look at the mutex (ready_for, acquire, owner...) settles the word
// first, and the kernel hands it back (publish) once no thread waits on it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "kernel/objects/waitable.h"

namespace cek::kernel {

class MutexObject;

// What a mutex with a word needs of the kernel.
class MutexWordHost {
public:
    // The thread a word names as owner, among the processes that have the word; none when it
    // is in none of them (a thread that died, or a scribbled word).
    virtual std::optional<ThreadRef> find_owner(uint32_t tid,
                                                const std::vector<ProcessId>& holders) const = 0;
    // The kernel took the word over: publish it again once the call is done.
    virtual void word_settled(MutexObject& mutex) = 0;
    // The mutex is going away.
    virtual void word_gone(MutexObject& mutex) = 0;

protected:
    ~MutexWordHost() = default;
};

class MutexObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Mutex;

    MutexObject() : Waitable(kType) {}
    ~MutexObject() override;

    const std::optional<ThreadRef>& owner() const {
        settle();
        return owner_;
    }
    uint32_t recursion() const {
        settle();
        return recursion_;
    }
    bool abandoned() const {
        settle();
        return abandoned_;
    }
    // One more level for the owner would overflow the count.
    bool saturated() const { return recursion() == UINT32_MAX; }

    bool ready_for(ThreadRef thread) const override {
        settle();
        return !owner_ || (*owner_ == thread && recursion_ != UINT32_MAX);
    }
    bool available() const override {
        settle();
        return !owner_;
    }
    bool acquire(ThreadRef thread) override;
    // ReleaseMutex by `thread`: false if it is not the owner. True when it let go entirely.
    std::optional<bool> release_by(ThreadRef thread);
    // The owner's thread or process died: no owner, abandoned.
    void abandon();

    // The shared word: made on the first ask (false: no memory for it); `process` is given it.
    bool share_word(ProcessId process, MutexWordHost& host);
    bool has_word() const { return word_ != nullptr; }
    int word_fd() const { return word_fd_; }
    uint64_t word_dev() const { return word_dev_; }
    uint64_t word_ino() const { return word_ino_; }
    const std::vector<ProcessId>& word_holders() const { return holders_; }
    // A process whose thread may own the mutex through the word: given it, or named in it.
    void add_holder(ProcessId process);
    void forget_holder(ProcessId process);
    // A thread (or, without `tid`, every thread) of `process` is gone: an owner the kernel
    // wrote into the word for it is no longer taken on trust.
    void forget_published(ProcessId process, std::optional<uint32_t> tid);
    // The kernel is going away: no more calls to it (an owner is no longer looked up).
    void drop_host() { host_ = nullptr; }
    // The owner the word names while the kernel does not hold it (no settling): for a death,
    // which settles only the mutexes its thread may own.
    std::optional<uint32_t> word_owner_tid() const;
    bool word_in_kernel() const;
    // Takes the word over (a no-op while the kernel holds it).
    void settle() const;
    // Hands the state back to the word when no thread waits and nothing is left to report.
    // True when the word holds it now.
    bool publish();

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    // The kernel changed the state: it looks at handing it back after the call.
    void changed();

    // The state while the kernel holds it (always, for a mutex without a word).
    mutable std::optional<ThreadRef> owner_;
    mutable uint32_t recursion_ = 0;
    mutable bool abandoned_ = false;

    std::atomic<uint64_t>* word_ = nullptr;  // the shared page's first word, mapped here
    int word_fd_ = -1;
    uint64_t word_dev_ = 0;
    uint64_t word_ino_ = 0;
    std::vector<ProcessId> holders_;  // the processes given the word, or named in it
    // The owner the kernel wrote into the word last (publish): known without looking it up.
    mutable std::optional<ThreadRef> published_owner_;
    MutexWordHost* host_ = nullptr;
};

}  // namespace cek::kernel
