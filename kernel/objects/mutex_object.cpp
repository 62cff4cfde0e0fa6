#include "kernel/objects/mutex_object.h"

#include <string>

namespace cek::kernel {

bool MutexObject::acquire(ThreadRef thread) {
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
    if (!owner_ || !(*owner_ == thread)) return std::nullopt;
    if (--recursion_ != 0) return false;
    owner_.reset();
    return true;
}

void MutexObject::abandon() {
    owner_.reset();
    recursion_ = 0;
    abandoned_ = true;
}

void MutexObject::describe(ObjectDetails& out) const {
    if (owner_) {
        out.emplace_back("owner", "process " + std::to_string(owner_->process.raw) + " tid " +
                                      std::to_string(owner_->tid));
        out.emplace_back("recursion", std::to_string(recursion_));
    } else {
        out.emplace_back("owner", abandoned_ ? "none (abandoned)" : "none");
    }
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t MutexObject::memory_bytes() const { return memory_of<MutexObject>(); }

}  // namespace cek::kernel
