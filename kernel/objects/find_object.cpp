#include "kernel/objects/find_object.h"

#include "fsys/path.h"

namespace cek::kernel {

std::vector<fsys::FindEntry>& FindObject::page_to_fill() {
    page_.clear();
    page_pos_ = 0;
    return page_;
}

const fsys::FindEntry* FindObject::next() {
    if (page_pos_ >= page_.size()) return nullptr;
    ++listed_;
    return &page_[page_pos_++];
}

void FindObject::describe(ObjectDetails& out) const {
    out.emplace_back("pattern", fsys::to_utf8(pattern_).value_or("?"));
    out.emplace_back("listed", std::to_string(listed_));
    out.emplace_back("state", cursor_.done && page_pos_ >= page_.size() ? "done" : "open");
}

size_t FindObject::memory_bytes() const {
    size_t bytes = sizeof(*this) - sizeof(cursor_) + cursor_.memory_bytes() +
                   pattern_.capacity() * sizeof(char16_t) +
                   page_.capacity() * sizeof(fsys::FindEntry);
    for (const auto& e : page_) bytes += e.name.capacity() * sizeof(char16_t);
    return bytes;
}

}  // namespace cek::kernel
