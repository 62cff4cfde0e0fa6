// HandleTable: CE 5's one global handle table.
//
// CE behaviour (docs/semantics/handles.md §1-§3): a handle value is valid in every process, but a process may
// use it only if it holds a reference on it (its bit in CE's access lock) or if the kernel owns
// the handle (CreateFileForMapping handles). Each entry keeps per-process reference counts;
// opening the same named object again returns the same value and bumps the caller's count.
// An entry dies when its total count reaches zero, releasing its reference on the object.
//
// Values: bit 1 set (CE marks handles that way), a 20-bit index from 64 up and a 9-bit
// generation above it, so values are never 0, never INVALID_HANDLE_VALUE, never in the pseudo-
// handle block 0x40..0x5F, and a stale value stops matching once its slot is reused.
//
// Quota (docs/semantics/handles.md §6): the ProcessIds of one host process form a quota group
// (bind_group; an unbound ProcessId is a group of its own). A group may reference at most
// process_quota() entries, counting each of its ProcessIds' distinct entries (the kernel's own
// CreateFileForMapping handles excepted), so no host process fills the global table for the
// rest however many connections it opens.
// Fair share (set_fair_share): every group, present or future, is promised `floor` entries. The
// table keeps the unused part of those promises free (reserve()): a new entry for a group that
// holds `floor` or more, or a kernel-owned one, is refused once it would eat into the reserve.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "kernel/core/ids.h"
#include "kernel/core/object.h"
#include "common/result.h"

namespace cek::kernel {

class HandleTable {
public:
    static constexpr uint32_t kFirstIndex = 64;
    static constexpr uint32_t kIndexBits = 20;
    static constexpr uint32_t kMaxEntries = (1u << kIndexBits) - kFirstIndex;
    static constexpr uint32_t kDefaultProcessQuota = 65536;

    struct ProcessRef {
        ProcessId process;
        uint32_t count;
        uint32_t access;
    };

    struct Entry {
        Ref<KernelObject> object;  // null when the slot is free
        uint16_t generation = 0;
        bool kernel_owned = false;
        uint32_t total = 0;
        std::vector<ProcessRef> refs;
    };

    explicit HandleTable(uint32_t capacity = kMaxEntries,
                         uint32_t process_quota = kDefaultProcessQuota);

    // A new entry holding one reference for `owner` with `access`.
    // ERROR_NO_MORE_USER_HANDLES when the table is full, `owner`'s group is at its quota, or
    // the entry would eat into the fair share's reserve.
    Result<HandleValue> insert(Ref<KernelObject> object, ProcessId owner, uint32_t access,
                               bool kernel_owned = false);

    // The live entry for `value`, or null. No permission check.
    Entry* find(HandleValue value);
    const Entry* find(HandleValue value) const;

    // The live entry if `process` may use it (holds a reference, or the kernel owns it).
    Entry* find_for(HandleValue value, ProcessId process);

    // Adds a reference for `process` (opening by name, a view, a duplicate). False, and nothing
    // added, when that would be a new entry for a process at its quota, or when the entry's
    // count is at its maximum.
    bool add_ref(HandleValue value, ProcessId process, uint32_t access);

    // Drops one reference of `process`. Returns the object when that was the entry's last
    // reference (the caller finishes the close, e.g. drops the name), null otherwise.
    // ERROR_INVALID_HANDLE when the value is stale or `process` holds no reference.
    Result<Ref<KernelObject>> release(HandleValue value, ProcessId process);

    // Drops every reference of `process` at once (process exit). Same return as release().
    Result<Ref<KernelObject>> release_all(HandleValue value, ProcessId process);

    // Puts `process` in quota group `group` (its host process). Call before it holds anything.
    void bind_group(ProcessId process, uint32_t group);
    // Forgets the binding; call once `process` holds nothing (after its detach).
    void unbind_group(ProcessId process);
    // Promises every one of up to `max_groups` groups `floor` entries (0: no promise).
    void set_fair_share(uint32_t floor, uint32_t max_groups);
    uint32_t floor() const { return floor_; }
    // Free entries kept for the groups below their floor, present and future.
    size_t reserve() const;

    // Every handle value `process` holds a reference on.
    std::vector<HandleValue> handles_of(ProcessId process) const;
    uint32_t references_of(HandleValue value, ProcessId process) const;

    size_t size() const { return live_; }
    // Distinct entries `process` references, and how many it may.
    size_t held_by(ProcessId process) const;
    // What `process`'s quota group holds: the sum of held_by() over its ProcessIds.
    size_t held_by_group(ProcessId process) const;
    uint32_t process_quota() const { return process_quota_; }
    bool at_quota(ProcessId process) const {
        return process != kKernelProcess && held_by_group(process) >= process_quota_;
    }
    size_t memory_bytes() const;

    template <class F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i < entries_.size(); ++i)
            if (entries_[i].object) f(make_value(i + kFirstIndex, entries_[i].generation), entries_[i]);
    }

    static HandleValue make_value(uint32_t index, uint16_t generation) {
        return HandleValue{(uint32_t{generation} << (kIndexBits + 2)) | (index << 2) | 2u};
    }

private:
    Entry* decode(HandleValue value);
    Result<Ref<KernelObject>> drop(HandleValue value, ProcessId process, bool all);
    void forget(uint32_t index, ProcessId process);
    // Quota groups: a bound process's host, else the ProcessId itself (above every pid).
    uint64_t group_of(ProcessId process) const;
    // One more (+1) or one fewer (-1) entry referenced by `process`'s group.
    void charge(ProcessId process, int delta);
    // Whether a new entry for `owner` may take a free slot under the fair share.
    bool fair_share_allows(ProcessId owner) const;

    uint32_t capacity_;
    uint32_t process_quota_;
    std::vector<Entry> entries_;  // index - kFirstIndex
    std::deque<uint32_t> free_;   // FIFO: a freed slot is reused as late as possible
    size_t live_ = 0;
    std::unordered_map<ProcessId, std::unordered_set<uint32_t>> by_process_;
    std::unordered_map<ProcessId, uint32_t> group_;    // bound processes -> host pid
    std::unordered_map<uint64_t, size_t> group_held_;  // group -> entries referenced (charge)
    uint32_t floor_ = 0;
    uint32_t max_groups_ = 0;
    size_t floors_used_ = 0;  // sum over groups of min(held, floor_)
};

}  // namespace cek::kernel
