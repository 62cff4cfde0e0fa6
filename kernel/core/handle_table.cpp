#include "kernel/core/handle_table.h"

#include <algorithm>

namespace cek::kernel {

namespace {
constexpr uint16_t kGenerationMask = 0x1FF;  // 9 bits: values stay below 0x80000000
}

HandleTable::HandleTable(uint32_t capacity, uint32_t process_quota, Model model)
    : capacity_(std::min(capacity, kMaxEntries)), process_quota_(process_quota), model_(model) {}

size_t HandleTable::held_by(ProcessId process) const {
    auto it = by_process_.find(process);
    return it == by_process_.end() ? 0 : it->second.size();
}

void HandleTable::bind_group(ProcessId process, uint32_t group) { group_[process] = group; }

void HandleTable::unbind_group(ProcessId process) {
    group_.erase(process);
    if (auto it = locals_.find(process); it != locals_.end() && it->second.live == 0)
        locals_.erase(it);
}

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

std::optional<uint32_t> HandleTable::take_slot(ProcessId owner) {
    if (at_quota(owner) || !fair_share_allows(owner)) return std::nullopt;
    if (!free_.empty()) {
        uint32_t slot = free_.front();
        free_.pop_front();
        return slot;
    }
    if (entries_.size() >= capacity_) return std::nullopt;
    entries_.emplace_back();
    entries_.back().generation = 1;
    return static_cast<uint32_t>(entries_.size() - 1);
}

std::optional<HandleValue> HandleTable::take_local(ProcessId owner, uint32_t slot) {
    LocalTable& t = locals_[owner];
    uint32_t i = 0;
    if (!t.free.empty()) {
        i = t.free.front();
        t.free.pop_front();
        t.reuse[i] = static_cast<uint16_t>(t.reuse[i] + 4);  // stays ...11 in binary
    } else if (t.slot.size() <= kLastLocalIndex - kFirstIndex) {
        i = static_cast<uint32_t>(t.slot.size());
        t.slot.push_back(0);
        t.reuse.push_back(kLocalTag);
    } else {
        return std::nullopt;
    }
    t.slot[i] = slot + 1;
    ++t.live;
    return make_local_value(i + kFirstIndex, t.reuse[i]);
}

void HandleTable::free_local(HandleValue value, ProcessId owner) {
    auto it = locals_.find(owner);
    if (it == locals_.end()) return;
    LocalTable& t = it->second;
    const uint32_t i = (value.raw >> 16) - kFirstIndex;
    t.slot[i] = 0;
    t.free.push_back(i);
    --t.live;  // the table stays, reuse counts and all, until the process goes (unbind_group)
}

void HandleTable::count_handles(const KernelObject* object, int64_t delta) {
    if (global()) return;  // the entry's total is the count
    auto& n = handle_counts_[object];
    n = static_cast<uint32_t>(n + delta);
    if (n == 0) handle_counts_.erase(object);
}

Result<HandleValue> HandleTable::insert(Ref<KernelObject> object, ProcessId owner,
                                        uint32_t access, bool kernel_owned) {
    auto slot = take_slot(owner);
    if (!slot) return Win32Error::ERROR_NO_MORE_USER_HANDLES;
    Entry& e = entries_[*slot];
    if (global()) {
        e.value = make_value(*slot + kFirstIndex, e.generation);
        slot_of_object_.emplace(object.get(), *slot);
    } else {
        auto value = take_local(owner, *slot);
        if (!value) {
            free_.push_front(*slot);  // untouched: give it back where it was
            return Win32Error::ERROR_NO_MORE_USER_HANDLES;
        }
        e.value = *value;
        count_handles(object.get(), +1);
    }
    e.object = std::move(object);
    e.kernel_owned = kernel_owned;
    e.total = 1;
    e.refs.assign(1, ProcessRef{owner, 1, access});
    by_process_[owner].insert(*slot);
    charge(owner, +1);
    ++live_;
    return e.value;
}

Result<HandleValue> HandleTable::open(const Ref<KernelObject>& object, ProcessId process,
                                      uint32_t access) {
    if (!global()) return insert(object, process, access);
    auto it = slot_of_object_.find(object.get());
    if (it == slot_of_object_.end()) return Win32Error::ERROR_INVALID_HANDLE;
    const HandleValue value = entries_[it->second].value;
    if (!add_ref(value, process, access)) return Win32Error::ERROR_NO_MORE_USER_HANDLES;
    return value;
}

HandleTable::Entry* HandleTable::decode_global(HandleValue value) {
    if ((value.raw & 3u) != 2u) return nullptr;
    uint32_t index = (value.raw >> 2) & ((1u << kIndexBits) - 1);
    uint32_t generation = value.raw >> (kIndexBits + 2);
    if (index < kFirstIndex || index - kFirstIndex >= entries_.size()) return nullptr;
    Entry& e = entries_[index - kFirstIndex];
    if (!e.object || e.generation != generation) return nullptr;
    return &e;
}

HandleTable::Entry* HandleTable::decode(HandleValue value, ProcessId process) {
    if (global()) return decode_global(value);
    if ((value.raw & 3u) != kLocalTag) return nullptr;
    auto it = locals_.find(process);
    if (it == locals_.end()) return nullptr;
    const LocalTable& t = it->second;
    const uint32_t index = value.raw >> 16;
    if (index < kFirstIndex || index - kFirstIndex >= t.slot.size()) return nullptr;
    const uint32_t i = index - kFirstIndex;
    if (t.slot[i] == 0 || t.reuse[i] != (value.raw & 0xFFFFu)) return nullptr;
    return &entries_[t.slot[i] - 1];
}

HandleTable::Entry* HandleTable::find_id(uint32_t id) {
    if (global()) return decode_global(HandleValue{id});
    if ((id & 1u) != 0) return nullptr;  // ids are even; odd values are handles
    return decode(HandleValue{id | 1u}, kKernelProcess);
}

const HandleTable::Entry* HandleTable::find_for(HandleValue value, ProcessId process) const {
    return const_cast<HandleTable*>(this)->find_for(value, process);
}

HandleTable::Entry* HandleTable::find_for(HandleValue value, ProcessId process) {
    Entry* e = decode(value, process);
    if (e == nullptr) return nullptr;
    if (e->kernel_owned) return e;
    for (const auto& r : e->refs)
        if (r.process == process) return e;
    return nullptr;
}

bool HandleTable::add_ref(HandleValue value, ProcessId process, uint32_t access) {
    Entry* e = decode(value, process);
    if (e == nullptr) return false;
    if (e->total == UINT32_MAX) return false;  // counts never wrap (the entry would die early)
    for (auto& r : e->refs) {
        if (r.process == process) {
            ++e->total;
            ++r.count;
            r.access |= access;
            count_handles(e->object.get(), +1);
            return true;
        }
    }
    if (!global() || at_quota(process)) return false;
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
    Entry* e = decode(value, process);
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
    if (e->total != 0) {
        count_handles(e->object.get(), -int64_t{dropped});
        return Ref<KernelObject>{};
    }
    Ref<KernelObject> object = std::move(e->object);
    e->refs.clear();
    e->refs.shrink_to_fit();
    e->generation = static_cast<uint16_t>((e->generation % kGenerationMask) + 1);
    free_.push_back(slot);
    --live_;
    if (global()) {
        if (auto it = slot_of_object_.find(object.get());
            it != slot_of_object_.end() && it->second == slot)
            slot_of_object_.erase(it);
        return object;
    }
    free_local(value, process);
    count_handles(object.get(), -int64_t{dropped});
    // Other tables (or views) may still hold the object: only its last handle reports it.
    return handle_counts_.count(object.get()) != 0 ? Ref<KernelObject>{} : object;
}

void HandleTable::hold(const Ref<KernelObject>& object) { count_handles(object.get(), +1); }

Ref<KernelObject> HandleTable::unhold(const KernelObject& object) {
    auto it = handle_counts_.find(&object);
    if (it == handle_counts_.end()) return {};
    if (--it->second != 0) return {};
    handle_counts_.erase(it);
    return Ref<KernelObject>(const_cast<KernelObject*>(&object));
}

uint32_t HandleTable::handle_count(const KernelObject& object) const {
    if (global()) {
        auto it = slot_of_object_.find(&object);
        return it == slot_of_object_.end() ? 0 : entries_[it->second].total;
    }
    auto it = handle_counts_.find(&object);
    return it == handle_counts_.end() ? 0 : it->second;
}

std::vector<HandleValue> HandleTable::handles_of(ProcessId process) const {
    std::vector<HandleValue> out;
    auto it = by_process_.find(process);
    if (it == by_process_.end()) return out;
    out.reserve(it->second.size());
    for (uint32_t slot : it->second) out.push_back(entries_[slot].value);
    return out;
}

uint32_t HandleTable::references_of(HandleValue value, ProcessId process) const {
    const Entry* e = find_for(value, process);
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
    constexpr size_t kNode = sizeof(void*) + 3 * sizeof(void*);  // one hash-map node, roughly
    bytes += (slot_of_object_.size() + handle_counts_.size()) * kNode;
    for (const auto& [p, t] : locals_)
        bytes += t.slot.capacity() * sizeof(uint32_t) + t.reuse.capacity() * sizeof(uint16_t) +
                 t.free.size() * sizeof(uint32_t) + kNode;
    return bytes;
}

}  // namespace cek::kernel
