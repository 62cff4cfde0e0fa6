#include "kernel/objects/process_object.h"

#include <string>

#include "common/utf.h"

namespace cek::kernel {

std::u16string ProcessObject::exe_name() const {
    const size_t slash = image_.find_last_of(u"\\/");
    return slash == std::u16string::npos ? image_ : image_.substr(slash + 1);
}

bool ProcessObject::record_exit_code(uint32_t code) {
    if (has_code_) return false;
    has_code_ = true;
    code_ = code;
    return true;
}

void ProcessObject::describe(ObjectDetails& out) const {
    out.emplace_back("process", std::to_string(process_.raw));
    out.emplace_back("image", utf8_from_utf16(image_));
    out.emplace_back("parent", parent_ == 0 ? std::string("-") : std::to_string(parent_));
    if (ended_)
        out.emplace_back("state", "exited, code " + std::to_string(code_));
    else
        out.emplace_back("state", exiting() ? "exiting" : "running");
    out.emplace_back("origin", child_ ? "CreateProcessW" : "attached");
    out.emplace_back("waiters", std::to_string(waits().size()));
}

size_t ProcessObject::memory_bytes() const {
    return memory_of<ProcessObject>() + image_.capacity() * sizeof(char16_t);
}

}  // namespace cek::kernel
