#include "kernel/core/handle_table.h"

#include <algorithm>

namespace cek::kernel {

namespace {
constexpr uint16_t kGenerationMask = 0x1FF;  // 9 bits: values stay below 0x80000000
}

HandleTable::HandleTable(uint32_t capacity, uint32_t process_quota)
    : capacity_(std::min(capacity, kMaxEntries)), process_quota_(process_quota) {}

size_t HandleTable::held_by(ProcessId process) const {
    auto it = by_process_.find(process);
    return it == by_process_.end() ? 0 : it->second.size();
}

void HandleTable::bind_group(ProcessId process, uint32_t group) { group_[process] = group; }

void HandleTable::unbind_group(ProcessId process) { group_.erase(process); }

void HandleTable::set_fair_share(uint32_t floor, uint32_t max_groups) {
    // Called before anything is held: floors_used_ starts from zero.
    floor_ = floor;
    max_groups_ = max_groups;
    floors_used_ = 0;
    for (const auto& [g, held] : group_held_) floors_used_ += std::min<size_t>(held, floor_);
}

uint64_t HandleTable::group_of(ProcessId process) const {
    auto it = group_.find(process);
    return it != group_.end() ? it->second : (uint64_t{1} << 32) | process.raw;
}

size_t HandleTable::held_by_group(ProcessId process) const {
    auto it = group_held_.find(group_of(process));
    return it == group_held_.end() ? 0 : it->second;
}

size_t HandleTable::reserve() const {
    const size_t promised = size_t{floor_} * max_groups_;
    return promised > floors_used_ ? promised - floors_used_ : 0;
}

void HandleTable::charge(ProcessId process, int delta) {
    if (process == kKernelProcess) return;
    const uint64_t g = group_of(process);
    size_t& held = group_held_[g];
    if (delta > 0) {
        if (held < floor_) ++floors_used_;
        ++held;
    } else {
        --held;
        if (held < floor_) --floors_used_;
        if (held == 0) group_held_.erase(g);
    }
}

bool HandleTable::fair_share_allows(ProcessId owner) const {
    if (floor_ == 0) return true;
    // Below its floor a group spends its own promise, which the reserve holds for it.
    if (owner != kKernelProcess && held_by_group(owner) < floor_) return true;
    const size_t free_slots = capacity_ - live_;
    return free_slots > reserve();
}

Result<HandleValue> HandleTable::insert(Ref<KernelObject> object, ProcessId owner,
                                        uint32_t access, bool kernel_owned) {
    if (at_quota(owner) || !fair_share_allows(owner)) return Win32Error::ERROR_NO_MORE_USER_HANDLES;
    uint32_t slot = 0;
    if (!free_.empty()) {
        slot = free_.front();
        free_.pop_front();
    } else if (entries_.size() < capacity_) {
        slot = static_cast<uint32_t>(entries_.size());
        entries_.emplace_back();
        entries_.back().generation = 1;
    } else {
        return Win32Error::ERROR_NO_MORE_USER_HANDLES;
    }
    Entry& e = entries_[slot];
    e.object = std::move(object);
    e.kernel_owned = kernel_owned;
    e.total = 1;
    e.refs.assign(1, ProcessRef{owner, 1, access});
    by_process_[owner].insert(slot);
    charge(owner, +1);
    ++live_;
    return make_value(slot + kFirstIndex, e.generation);
}

HandleTable::Entry* HandleTable::decode(HandleValue value) {
    if ((value.raw & 3u) != 2u) return nullptr;
    uint32_t index = (value.raw >> 2) & ((1u << kIndexBits) - 1);
    uint32_t generation = value.raw >> (kIndexBits + 2);
    if (index < kFirstIndex || index - kFirstIndex >= entries_.size()) return nullptr;
    Entry& e = entries_[index - kFirstIndex];
    if (!e.object || e.generation != generation) return nullptr;
    return &e;
}

HandleTable::Entry* HandleTable::find(HandleValue value) { return decode(value); }

const HandleTable::Entry* HandleTable::find(HandleValue value) const {
    return const_cast<HandleTable*>(this)->decode(value);
}

HandleTable::Entry* HandleTable::find_for(HandleValue value, ProcessId process) {
    Entry* e = decode(value);
    if (e == nullptr) return nullptr;
    if (e->kernel_owned) return e;
    for (const auto& r : e->refs)
        if (r.process == process) return e;
    return nullptr;
}

bool HandleTable::add_ref(HandleValue value, ProcessId process, uint32_t access) {
    Entry* e = decode(value);
    if (e == nullptr) return false;
    if (e->total == UINT32_MAX) return false;  // counts never wrap (the entry would die early)
    for (auto& r : e->refs) {
        if (r.process == process) {
            ++e->total;
            ++r.count;
            r.access |= access;
            return true;
        }
    }
    if (at_quota(process)) return false;
    ++e->total;
    e->refs.push_back(ProcessRef{process, 1, access});
    by_process_[process].insert(((value.raw >> 2) & ((1u << kIndexBits) - 1)) - kFirstIndex);
    charge(process, +1);
    return true;
}

void HandleTable::forget(uint32_t slot, ProcessId process) {
    auto it = by_process_.find(process);
    if (it == by_process_.end()) return;
    if (it->second.erase(slot) != 0) charge(process, -1);
    if (it->second.empty()) by_process_.erase(it);
}

Result<Ref<KernelObject>> HandleTable::release(HandleValue value, ProcessId process) {
    return drop(value, process, false);
}

Result<Ref<KernelObject>> HandleTable::release_all(HandleValue value, ProcessId process) {
    return drop(value, process, true);
}

Result<Ref<KernelObject>> HandleTable::drop(HandleValue value, ProcessId process, bool all) {
    Entry* e = decode(value);
    if (e == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    auto ref = std::find_if(e->refs.begin(), e->refs.end(),
                            [&](const ProcessRef& r) { return r.process == process; });
    if (ref == e->refs.end()) return Win32Error::ERROR_INVALID_HANDLE;
    uint32_t slot = static_cast<uint32_t>(e - entries_.data());
    uint32_t dropped = all ? ref->count : 1;
    e->total -= dropped;
    ref->count -= dropped;
    if (ref->count == 0) {
        e->refs.erase(ref);
        forget(slot, process);
    }
    if (e->total != 0) return Ref<KernelObject>{};
    Ref<KernelObject> object = std::move(e->object);
    e->refs.clear();
    e->refs.shrink_to_fit();
    e->generation = static_cast<uint16_t>((e->generation % kGenerationMask) + 1);
    free_.push_back(slot);
    --live_;
    return object;
}

std::vector<HandleValue> HandleTable::handles_of(ProcessId process) const {
    std::vector<HandleValue> out;
    auto it = by_process_.find(process);
    if (it == by_process_.end()) return out;
    out.reserve(it->second.size());
    for (uint32_t slot : it->second)
        out.push_back(make_value(slot + kFirstIndex, entries_[slot].generation));
    return out;
}

uint32_t HandleTable::references_of(HandleValue value, ProcessId process) const {
    const Entry* e = find(value);
    if (e == nullptr) return 0;
    for (const auto& r : e->refs)
        if (r.process == process) return r.count;
    return 0;
}

size_t HandleTable::memory_bytes() const {
    size_t bytes = entries_.capacity() * sizeof(Entry) + free_.size() * sizeof(uint32_t);
    for (const auto& e : entries_) bytes += e.refs.capacity() * sizeof(ProcessRef);
    for (const auto& [p, set] : by_process_)
        bytes += set.size() * (sizeof(uint32_t) + 2 * sizeof(void*)) +
                 set.bucket_count() * sizeof(void*);
    bytes += (group_.size() + group_held_.size()) * (sizeof(uint64_t) + 3 * sizeof(void*));
    return bytes;
}

}  // namespace cek::kernel
