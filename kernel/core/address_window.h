// AddressWindow: hands out ranges of the shared mapping window (CE 5's mapper region).
// Each mapping reserves its whole range once, at creation, and every view of it in every process
// sits at base + offset. Ranges are 64 KiB-aligned (CE's allocation unit); ranges of 2 MiB or
// more are 2 MiB-aligned so that the host can map file pages with huge page-table entries.
// See docs/decisions/0003-address-window.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace cek::kernel {

class KernelObject;

class AddressWindow {
public:
    AddressWindow(uint64_t base, uint64_t size);

    // A range of at least `length` bytes for `owner`, or nullopt when the window is full.
    std::optional<uint64_t> allocate(uint64_t length, KernelObject* owner);
    void free(uint64_t address);

    // The owner whose range contains `address`, and that range's start, or null.
    KernelObject* owner_of(uint64_t address, uint64_t* range_base = nullptr) const;

    uint64_t base() const { return base_; }
    uint64_t size() const { return size_; }
    uint64_t bytes_in_use() const { return in_use_; }
    size_t range_count() const { return used_.size(); }

    static uint64_t rounded_length(uint64_t length);

private:
    struct Used {
        uint64_t length;
        KernelObject* owner;
    };
    uint64_t base_;
    uint64_t size_;
    uint64_t in_use_ = 0;
    std::map<uint64_t, uint64_t> free_;  // start -> length, coalesced
    std::map<uint64_t, Used> used_;      // start -> range
};

}  // namespace cek::kernel
