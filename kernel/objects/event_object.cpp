#include "kernel/objects/event_object.h"

#include <string>

namespace cek::kernel {

bool EventObject::acquire(ThreadRef) {
    if (!manual_reset_) signaled_ = false;
    return false;
}

void EventObject::describe(ObjectDetails& out) const {
    out.emplace_back("reset", manual_reset_ ? "manual" : "auto");
    out.emplace_back("state", signaled_ ? "signaled" : "nonsignaled");
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t EventObject::memory_bytes() const { return memory_of<EventObject>(); }

}  // namespace cek::kernel
