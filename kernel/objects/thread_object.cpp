#include "kernel/objects/thread_object.h"

#include <string>

namespace cek::kernel {

bool ThreadObject::exit(uint32_t code) {
    if (exited_) return false;
    exited_ = true;
    exit_code_ = code;
    return true;
}

void ThreadObject::describe(ObjectDetails& out) const {
    out.emplace_back("process", std::to_string(process_.raw));
    out.emplace_back("tid", std::to_string(tid_));
    if (exited_)
        out.emplace_back("state", "exited, code " + std::to_string(exit_code_));
    else if (suspend_count_ != 0)
        out.emplace_back("state", "suspended, count " + std::to_string(suspend_count_));
    else
        out.emplace_back("state", tid_ == 0 ? "starting" : "running");
    out.emplace_back("priority", std::to_string(priority_));
    out.emplace_back("quantum", std::to_string(quantum_));
    out.emplace_back("origin", created_ ? "CreateThread" : "adopted");
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t ThreadObject::memory_bytes() const { return memory_of<ThreadObject>(); }

}  // namespace cek::kernel
