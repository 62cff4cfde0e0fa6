// MutexObject: a CE mutex, owned by one thread at a time and recursive for its owner. When the
// owner's process dies without releasing it, the mutex is abandoned: the next thread to get it
// is told so (WAIT_ABANDONED) and owns it as usual from then on.
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/objects/waitable.h"

namespace cek::kernel {

class MutexObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Mutex;

    MutexObject() : Waitable(kType) {}

    const std::optional<ThreadRef>& owner() const { return owner_; }
    uint32_t recursion() const { return recursion_; }
    bool abandoned() const { return abandoned_; }
    // One more level for the owner would overflow the count.
    bool saturated() const { return recursion_ == UINT32_MAX; }

    bool ready_for(ThreadRef thread) const override {
        return !owner_ || (*owner_ == thread && !saturated());
    }
    bool available() const override { return !owner_; }
    bool acquire(ThreadRef thread) override;
    // ReleaseMutex by `thread`: false if it is not the owner. True when it let go entirely.
    std::optional<bool> release_by(ThreadRef thread);
    // The owner's process died: no owner, abandoned.
    void abandon();

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    std::optional<ThreadRef> owner_;
    uint32_t recursion_ = 0;
    bool abandoned_ = false;
};

}  // namespace cek::kernel
