#include "kernel/objects/semaphore_object.h"

#include <string>

namespace cek::kernel {

std::optional<int32_t> SemaphoreObject::post(int32_t n) {
    if (n > maximum_ - count_) return std::nullopt;  // no overflow: both are in [0, maximum]
    int32_t previous = count_;
    count_ += n;
    return previous;
}

void SemaphoreObject::describe(ObjectDetails& out) const {
    out.emplace_back("count", std::to_string(count_));
    out.emplace_back("maximum", std::to_string(maximum_));
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t SemaphoreObject::memory_bytes() const { return memory_of<SemaphoreObject>(); }

}  // namespace cek::kernel
