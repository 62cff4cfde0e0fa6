// EventObject: a CE event. Manual-reset events stay signalled until ResetEvent and release
// every waiter; auto-reset events release one waiter and reset themselves.
#pragma once

#include "kernel/objects/waitable.h"

namespace cek::kernel {

class EventObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Event;

    EventObject(bool manual_reset, bool signaled)
        : Waitable(kType), manual_reset_(manual_reset), signaled_(signaled) {}

    bool manual_reset() const { return manual_reset_; }
    bool signaled() const { return signaled_; }
    void set() { signaled_ = true; }
    void reset() { signaled_ = false; }

    bool ready_for(ThreadRef) const override { return signaled_; }
    bool available() const override { return signaled_; }
    bool acquire_spends() const override { return !manual_reset_; }
    bool acquire(ThreadRef) override;

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    bool manual_reset_;
    bool signaled_;
};

}  // namespace cek::kernel
