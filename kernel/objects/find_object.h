// FindObject: one FindFirstFileW search. The matches are listed once, at FindFirstFileW (the
// object store gives a stable, sorted list); FindNextFileW walks them. Closed by FindClose.
#pragma once

#include <vector>

#include "fsys/root.h"
#include "kernel/core/object.h"

namespace cek::kernel {

class FindObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Find;

    FindObject(std::u16string pattern, std::vector<fsys::FindEntry> entries)
        : KernelObject(kType), pattern_(std::move(pattern)), entries_(std::move(entries)) {}

    // The next entry, or null when the search is exhausted.
    const fsys::FindEntry* next() { return cursor_ < entries_.size() ? &entries_[cursor_++] : nullptr; }

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    std::u16string pattern_;
    std::vector<fsys::FindEntry> entries_;
    size_t cursor_ = 0;
};

}  // namespace cek::kernel
