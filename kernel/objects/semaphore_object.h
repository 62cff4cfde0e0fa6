// SemaphoreObject: a CE semaphore, a count between 0 and its maximum. Each completed wait
// takes one; ReleaseSemaphore adds, never past the maximum.
// (Its declaration has the shape of EventObject's and MutexObject's on purpose: one class per
// waitable type, each with its kType, state, ready_for/acquire and the diagnostics pair.)
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/objects/waitable.h"

namespace cek::kernel {

class SemaphoreObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Semaphore;

    // 0 <= initial <= maximum, maximum > 0 (checked by the caller).
    SemaphoreObject(int32_t initial, int32_t maximum)
        : Waitable(kType), count_(initial), maximum_(maximum) {}

    int32_t count() const { return count_; }
    int32_t maximum() const { return maximum_; }
    // Adds `n` (> 0) and returns the previous count, or nothing (and no change) when the
    // count would pass the maximum.
    std::optional<int32_t> post(int32_t n);

    bool ready_for(ThreadRef) const override { return count_ > 0; }
    bool available() const override { return count_ > 0; }
    bool acquire(ThreadRef) override {
        --count_;
        return false;
    }

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    int32_t count_;
    int32_t maximum_;
};

}  // namespace cek::kernel
