#include "kernel/core/address_window.h"

#include <algorithm>
#include <iterator>

#include "protocol/window.h"

namespace cek::kernel {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
// Where a range of `rounded` bytes (rounded_length) may start.
uint64_t alignment_of(uint64_t rounded) {
    return rounded >= proto::kLargeAlignment ? proto::kLargeAlignment : proto::kWindowGranularity;
}
}  // namespace

AddressWindow::AddressWindow(uint64_t base, uint64_t size) : base_(base), size_(size) {
    free_.emplace(base, size);
}

uint64_t AddressWindow::rounded_length(uint64_t length) {
    uint64_t unit = length >= proto::kLargeAlignment ? proto::kLargeAlignment
                                                    : proto::kWindowGranularity;
    return align_up(length == 0 ? 1 : length, unit);
}

std::optional<uint64_t> AddressWindow::allocate(uint64_t length, KernelObject* owner) {
    if (length == 0 || length > size_) return std::nullopt;
    const uint64_t rounded = rounded_length(length);
    const uint64_t alignment = alignment_of(rounded);
    // First fit: small ranges pack at the bottom, large ones find an aligned hole.
    for (auto it = free_.begin(); it != free_.end(); ++it) {
        uint64_t start = align_up(it->first, alignment);
        uint64_t hole_end = it->first + it->second;
        if (start >= hole_end || hole_end - start < rounded) continue;
        take(it, start, rounded, owner);
        return start;
    }
    return std::nullopt;
}

void AddressWindow::take(std::map<uint64_t, uint64_t>::iterator hole, uint64_t start,
                         uint64_t rounded, KernelObject* owner) {
    const uint64_t hole_start = hole->first;
    const uint64_t hole_end = hole->first + hole->second;
    free_.erase(hole);
    if (start > hole_start) free_.emplace(hole_start, start - hole_start);
    if (start + rounded < hole_end) free_.emplace(start + rounded, hole_end - start - rounded);
    used_.emplace(start, Used{rounded, owner, {}});
    in_use_ += rounded;
}

bool AddressWindow::allocate_at(uint64_t address, uint64_t length, KernelObject* owner) {
    if (length == 0 || length > size_) return false;
    const uint64_t rounded = rounded_length(length);
    if (address % alignment_of(rounded) != 0) return false;
    auto it = free_.upper_bound(address);
    if (it == free_.begin()) return false;
    --it;
    const uint64_t hole_end = it->first + it->second;
    if (address + rounded > hole_end || address + rounded < address) return false;
    take(it, address, rounded, owner);
    return true;
}

void AddressWindow::free(uint64_t address) {
    auto it = used_.find(address);
    if (it == used_.end()) return;
    uint64_t start = address;
    uint64_t length = it->second.length;
    in_use_ -= length;
    used_.erase(it);
    // Coalesce with the neighbours.
    auto next = free_.lower_bound(start);
    if (next != free_.end() && start + length == next->first) {
        length += next->second;
        next = free_.erase(next);
    }
    if (next != free_.begin()) {
        auto prev = std::prev(next);
        if (prev->first + prev->second == start) {
            start = prev->first;
            length += prev->second;
            free_.erase(prev);
        }
    }
    free_.emplace(start, length);
}

void AddressWindow::retire(uint64_t address, std::vector<ProcessId> holders) {
    auto it = used_.find(address);
    if (it == used_.end()) return;
    if (holders.empty()) return free(address);
    it->second.owner = nullptr;
    it->second.holders = std::move(holders);
    ++retired_;
    if (on_retire_) on_retire_(address, it->second.length, it->second.holders);
}

void AddressWindow::let_go(ProcessId holder, uint64_t address) {
    auto it = used_.find(address);
    if (it == used_.end() || it->second.owner != nullptr) return;
    if (std::erase(it->second.holders, holder) == 0 || !it->second.holders.empty()) return;
    --retired_;
    free(address);
}

void AddressWindow::let_go(ProcessId holder) {
    if (retired_ == 0) return;
    std::vector<uint64_t> done;
    for (auto& [start, used] : used_) {
        if (used.owner != nullptr || std::erase(used.holders, holder) == 0) continue;
        if (used.holders.empty()) done.push_back(start);
    }
    for (uint64_t start : done) {
        --retired_;
        free(start);
    }
}

KernelObject* AddressWindow::owner_of(uint64_t address, uint64_t* range_base) const {
    auto it = used_.upper_bound(address);
    if (it == used_.begin()) return nullptr;
    --it;
    if (address - it->first >= it->second.length) return nullptr;
    if (range_base != nullptr) *range_base = it->first;
    return it->second.owner;
}

}  // namespace cek::kernel
