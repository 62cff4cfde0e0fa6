// Waitable: the base of the objects a thread can wait on (events, mutexes, semaphores and the
// ends of message queues, threads, processes).
//
// An object is "ready" for a thread when a wait on it would complete now; "acquiring" it is
// what completing the wait does to it (an auto-reset event resets, a semaphore counts down, a
// mutex becomes the thread's). The kernel keeps the waits themselves (kernel_sync.cpp); an
// object only lists which waits involve it, in arrival order, so wake-ups are first come,
// first served.
#pragma once

#include <cstdint>
#include <set>

#include "kernel/core/ids.h"
#include "kernel/core/object.h"

namespace cek::kernel {

// A CE thread: the kernel's process identity and the thread's Linux tid.
struct ThreadRef {
    ProcessId process;
    uint32_t tid = 0;
    bool operator==(const ThreadRef&) const = default;
};

class Waitable : public KernelObject {
public:
    using KernelObject::KernelObject;

    virtual bool ready_for(ThreadRef thread) const = 0;
    // Ready for a thread that owns nothing of it: false means no pending wait can complete on
    // this object now (a thread has one wait in flight, so none of them is an owner's).
    virtual bool available() const = 0;
    // Whether acquiring spends something another waiter could have had (an auto-reset event's
    // signal, a semaphore's unit, a mutex); a manual-reset event spends nothing.
    virtual bool acquire_spends() const { return true; }
    // Completes a wait of `thread` on this object, which must be ready for it. True when the
    // wait must report WAIT_ABANDONED (a mutex whose owner died without releasing it).
    virtual bool acquire(ThreadRef thread) = 0;

    // Whether the object's readiness can change without a call to the kernel (a message
    // queue's ring): a wait listed on it looks once more after listing, and waits_changed()
    // runs whenever a wait is listed on it or leaves it.
    virtual bool changes_outside() const { return false; }
    virtual void waits_changed() {}

    // Ids of the waits that involve this object, oldest first.
    std::set<uint64_t>& waits() { return waits_; }
    const std::set<uint64_t>& waits() const { return waits_; }

    static bool is_waitable(ObjectType t) {
        return is_sync(t) || t == ObjectType::MsgQueue || t == ObjectType::Thread ||
               t == ObjectType::Process;
    }
    // The synchronization objects proper (OpenEventW's kinds, what CE 5 lets DuplicateHandle
    // copy); message-queue ends are waitable but none of these.
    static bool is_sync(ObjectType t) {
        return t == ObjectType::Event || t == ObjectType::Mutex || t == ObjectType::Semaphore;
    }

protected:
    size_t wait_memory_bytes() const { return waits_.size() * 40; }
    // memory_bytes() of a waitable type `Self`: the object with its own fields and wait list.
    template <class Self>
    size_t memory_of() const {
        return KernelObject::memory_bytes() + sizeof(Self) - sizeof(KernelObject) +
               wait_memory_bytes();
    }

private:
    std::set<uint64_t> waits_;
};

inline Waitable* waitable_cast(KernelObject* o) {
    return o != nullptr && Waitable::is_waitable(o->type()) ? static_cast<Waitable*>(o) : nullptr;
}

}  // namespace cek::kernel
