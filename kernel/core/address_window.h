// AddressWindow: hands out ranges of the shared mapping window (CE 5's mapper region).
// Each mapping reserves its whole range once, at creation, and every view of it in every process
// sits at base + offset. Ranges are 64 KiB-aligned (CE's allocation unit); ranges of 2 MiB or
// more are 2 MiB-aligned so that the host can map file pages with huge page-table entries.
// See docs/decisions/0003-address-window.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "kernel/core/ids.h"

namespace cek::kernel {

class KernelObject;

class AddressWindow {
public:
    AddressWindow(uint64_t base, uint64_t size);

    // A range of at least `length` bytes for `owner`, or nullopt when the window is full.
    std::optional<uint64_t> allocate(uint64_t length, KernelObject* owner);
    // The range of at least `length` bytes at `address` (aligned as allocate() would align it)
    // for `owner`, when all of it is free: false otherwise.
    bool allocate_at(uint64_t address, uint64_t length, KernelObject* owner);
    void free(uint64_t address);
    // Frees the range at `address` once every one of `holders` has let go (let_go): CE 5's
    // global view lets processes map a mapping by touching its address, and such a process
    // keeps those pages until it has unmapped them (a shootdown) or ended, so the range must not
    // show another mapping meanwhile. An empty `holders` frees at once. Until then the range has
    // no owner and counts as in use; the observer hears of it.
    void retire(uint64_t address, std::vector<ProcessId> holders);
    // `holder` has ended: frees each retired range it was the last holder of.
    void let_go(ProcessId holder);
    // `holder` no longer maps the retired range at `address` (it made it inaccessible).
    void let_go(ProcessId holder, uint64_t address);
    // Told of each range retire() keeps, with its holders (the kernel asks them to let go).
    using RetireObserver =
        std::function<void(uint64_t base, uint64_t length, const std::vector<ProcessId>&)>;
    void set_retire_observer(RetireObserver observer) { on_retire_ = std::move(observer); }
    size_t retired_count() const { return retired_; }

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
        std::vector<ProcessId> holders;  // a retired range (owner null): who still maps it
    };
    // Marks [start, start + rounded) of the free range `hole` used by `owner`.
    void take(std::map<uint64_t, uint64_t>::iterator hole, uint64_t start, uint64_t rounded,
              KernelObject* owner);

    uint64_t base_;
    uint64_t size_;
    uint64_t in_use_ = 0;
    size_t retired_ = 0;
    RetireObserver on_retire_;
    std::map<uint64_t, uint64_t> free_;  // start -> length, coalesced
    std::map<uint64_t, Used> used_;      // start -> range
};

}  // namespace cek::kernel
