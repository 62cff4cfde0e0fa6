#include "kernel/objects/find_object.h"

#include "fsys/path.h"

namespace cek::kernel {

void FindObject::describe(ObjectDetails& out) const {
    out.emplace_back("pattern", fsys::to_utf8(pattern_).value_or("?"));
    out.emplace_back("entries", std::to_string(entries_.size()));
    out.emplace_back("next", std::to_string(cursor_));
}

size_t FindObject::memory_bytes() const {
    size_t bytes = sizeof(*this) + entries_.capacity() * sizeof(fsys::FindEntry);
    for (const auto& e : entries_) bytes += e.name.capacity() * sizeof(char16_t);
    return bytes;
}

}  // namespace cek::kernel
