// FindObject: one FindFirstFileW search. It keeps where the search stands (fsys::FindCursor: the
// folder, the pattern and the last name looked at) and a small page of entries that the kernel
// refills from the object store as FindNextFileW consumes them, so its memory is bounded
// (kMaxBytes) whatever the folder's size. That bound is charged to the creating process's
// MemoryBudget for the search's lifetime. Closed by FindClose.
#pragma once

#include <vector>

#include "fsys/root.h"
#include "kernel/core/object.h"
#include "kernel/core/memory_budget.h"

namespace cek::kernel {

class FindObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Find;
    // Entries fetched per refill: each costs a stat and an attribute read.
    static constexpr size_t kPageEntries = 8;
    // What a search may hold at most: the object, a pattern and folder of MAX_PATH characters,
    // and a page of entries with names of 255 characters (what the MemoryBudget is charged).
    static constexpr size_t kMaxBytes = 1024 + 4 * 260 * 2 + 255 * 3 +
                                        kPageEntries * (sizeof(fsys::FindEntry) + 256 * 2);

    FindObject(std::u16string pattern, fsys::FindCursor cursor, MemoryBudget::Charge charge)
        : KernelObject(kType),
          pattern_(std::move(pattern)),
          cursor_(std::move(cursor)),
          charge_(std::move(charge)) {
        page_.reserve(kPageEntries);
    }

    fsys::FindCursor& cursor() { return cursor_; }
    // The page to refill when next() found it empty (cleared here).
    std::vector<fsys::FindEntry>& page_to_fill();
    // The next entry of the current page, or null when the page is used up.
    const fsys::FindEntry* next();
    uint64_t listed() const { return listed_; }

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    std::u16string pattern_;
    fsys::FindCursor cursor_;
    std::vector<fsys::FindEntry> page_;
    size_t page_pos_ = 0;
    uint64_t listed_ = 0;  // entries returned so far
    MemoryBudget::Charge charge_;
};

}  // namespace cek::kernel
