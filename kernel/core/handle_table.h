// HandleTable: the kernel's handles, in either of CE's two models (docs/semantics/handles.md).
//
// Global (CE 5, §1-§3): one table for the system. A value is valid in every process, but a
// process may use it only if it holds a reference on it (its bit in CE's access lock) or if the
// kernel owns the handle (CreateFileForMapping handles). Each entry keeps per-process reference
// counts; opening the same object again returns the same value and bumps the caller's count.
// Values: bit 1 set (CE marks handles that way), a 20-bit index from 64 up and a 9-bit
// generation above it, so values are never 0, never INVALID_HANDLE_VALUE, never in the pseudo-
// handle block 0x40..0x5F, and a stale value stops matching once its slot is reused.
//
// PerProcess (CE 6/7, §9): one table per process. Every open makes a new entry with a new value
// `(index << 16) | reuse`, index 64 to 65535 in that process's table and `reuse` ending in binary
// 11 (odd values), 4 more each time the index is reused; a value means nothing in another
// process. The kernel's own table (process 0) holds the entries behind thread and process ids:
// an id is such a value with bit 0 clear. Each object counts its handles over every table (and
// the views that hold one, hold()); the last one going is what release() reports.
//
// Both models share one store of entries, so capacity, quota and fair share below are the same.
// Quota (docs/semantics/handles.md §6): the ProcessIds of one host process form a quota group
// (bind_group; an unbound ProcessId is a group of its own). A group may reference at most
// process_quota() entries, counting each of its ProcessIds' distinct entries (the kernel's own
// entries excepted), so no host process fills the table for the rest however many connections
// it opens.
// Fair share (set_fair_share): every group, present or future, is promised `floor` entries. The
// table keeps the unused part of those promises free (reserve()): a new entry for a group that
// holds `floor` or more, or a kernel-owned one, is refused once it would eat into the reserve.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
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
    // PerProcess: the indexes of one process's table, and the low bits of every value.
    static constexpr uint32_t kLastLocalIndex = 0xFFFF;
    static constexpr uint32_t kLocalTag = 3;

    enum class Model { Global, PerProcess };

    struct ProcessRef {
        ProcessId process;
        uint32_t count;
        uint32_t access;
    };

    struct Entry {
        Ref<KernelObject> object;  // null when the slot is free
        HandleValue value;         // its value (PerProcess: in the table of refs[0].process)
        uint16_t generation = 0;
        bool kernel_owned = false;
        uint32_t total = 0;
        std::vector<ProcessRef> refs;
    };

    explicit HandleTable(uint32_t capacity = kMaxEntries,
                         uint32_t process_quota = kDefaultProcessQuota,
                         Model model = Model::Global);

    Model model() const { return model_; }
    bool global() const { return model_ == Model::Global; }

    // A new entry holding one reference for `owner` with `access`.
    // ERROR_NO_MORE_USER_HANDLES when the table is full, `owner`'s group is at its quota, the
    // entry would eat into the fair share's reserve, or (PerProcess) `owner`'s table is full.
    Result<HandleValue> insert(Ref<KernelObject> object, ProcessId owner, uint32_t access,
                               bool kernel_owned = false);

    // One more handle of `process` on an object that has one already: Global, a reference on
    // the object's entry and its value; PerProcess, a new entry in `process`'s table.
    // ERROR_NO_MORE_USER_HANDLES as insert(), or when the entry's count is at its maximum.
    Result<HandleValue> open(const Ref<KernelObject>& object, ProcessId process,
                             uint32_t access);

    // The live entry behind a thread or process id: Global, the value itself; PerProcess, the
    // kernel's own entry `id | 1` (ids are even). No permission check.
    Entry* find_id(uint32_t id);
    // The id of the kernel's own entry `value` (Global: the value; PerProcess: bit 0 clear).
    uint32_t id_of(HandleValue value) const { return global() ? value.raw : value.raw & ~1u; }
    // The kernel's own entry behind id `id` (the inverse of id_of).
    HandleValue value_of_id(uint32_t id) const { return HandleValue{global() ? id : id | 1u}; }

    // The live entry if `process` may use it: Global, it holds a reference or the kernel owns
    // it; PerProcess, the value is in its table.
    Entry* find_for(HandleValue value, ProcessId process);
    const Entry* find_for(HandleValue value, ProcessId process) const;

    // Adds a reference for `process` to entry `value` (Global: opening by name, a view, a
    // duplicate; PerProcess: only the entry's own process). False, and nothing added, when that
    // would be a new entry for a process at its quota, or when the entry's count is at its
    // maximum.
    bool add_ref(HandleValue value, ProcessId process, uint32_t access);

    // PerProcess: a count on `object`'s handles that no table shows (a CE 6 view holds one on
    // its mapping, so its name stays). unhold() returns the object when that was its last.
    void hold(const Ref<KernelObject>& object);
    Ref<KernelObject> unhold(const KernelObject& object);
    // The object's handles over every table (and holds).
    uint32_t handle_count(const KernelObject& object) const;

    // Drops one reference of `process`. Returns the object when that was its last handle (the
    // caller finishes the close, e.g. drops the name), null otherwise.
    // ERROR_INVALID_HANDLE when the value is stale or `process` holds no reference.
    Result<Ref<KernelObject>> release(HandleValue value, ProcessId process);

    // Drops every reference of `process` at once (process exit). Same return as release().
    Result<Ref<KernelObject>> release_all(HandleValue value, ProcessId process);

    // Puts `process` in quota group `group` (its host process). Call before it holds anything.
    void bind_group(ProcessId process, uint32_t group);
    // Forgets the binding (and, PerProcess, the process's empty table); call once `process`
    // holds nothing (after its detach).
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

    // f(value, entry) for every live entry (PerProcess: the value is in the table of
    // entry.refs[0].process).
    template <class F>
    void for_each(F&& f) const {
        for (const Entry& e : entries_)
            if (e.object) f(e.value, e);
    }

    static HandleValue make_value(uint32_t index, uint16_t generation) {
        return HandleValue{(uint32_t{generation} << (kIndexBits + 2)) | (index << 2) | 2u};
    }
    static HandleValue make_local_value(uint32_t index, uint16_t reuse) {
        return HandleValue{(index << 16) | reuse};
    }

private:
    // PerProcess: one process's table, index - kFirstIndex -> store slot + 1 (0: free).
    struct LocalTable {
        std::vector<uint32_t> slot;
        std::vector<uint16_t> reuse;
        std::deque<uint32_t> free;  // FIFO, as the store's
        size_t live = 0;
    };

    Entry* decode(HandleValue value, ProcessId process);
    Entry* decode_global(HandleValue value);
    Result<Ref<KernelObject>> drop(HandleValue value, ProcessId process, bool all);
    // The store slot an entry of `owner` takes, or nullopt.
    std::optional<uint32_t> take_slot(ProcessId owner);
    // PerProcess: a value in `owner`'s table for store slot `slot`, or nullopt when it is full.
    std::optional<HandleValue> take_local(ProcessId owner, uint32_t slot);
    void free_local(HandleValue value, ProcessId owner);
    void count_handles(const KernelObject* object, int64_t delta);
    void forget(uint32_t index, ProcessId process);
    // Quota groups: a bound process's host, else the ProcessId itself (above every pid).
    uint64_t group_of(ProcessId process) const;
    // One more (+1) or one fewer (-1) entry referenced by `process`'s group.
    void charge(ProcessId process, int delta);
    // Whether a new entry for `owner` may take a free slot under the fair share.
    bool fair_share_allows(ProcessId owner) const;

    uint32_t capacity_;
    uint32_t process_quota_;
    Model model_;
    std::vector<Entry> entries_;  // index - kFirstIndex
    std::deque<uint32_t> free_;   // FIFO: a freed slot is reused as late as possible
    size_t live_ = 0;
    std::unordered_map<ProcessId, std::unordered_set<uint32_t>> by_process_;
    std::unordered_map<ProcessId, uint32_t> group_;    // bound processes -> host pid
    std::unordered_map<uint64_t, size_t> group_held_;  // group -> entries referenced (charge)
    uint32_t floor_ = 0;
    uint32_t max_groups_ = 0;
    size_t floors_used_ = 0;  // sum over groups of min(held, floor_)
    // Global: the one entry of each object. PerProcess: each process's table, and each
    // object's handle count over all of them.
    std::unordered_map<const KernelObject*, uint32_t> slot_of_object_;
    std::unordered_map<ProcessId, LocalTable> locals_;
    std::unordered_map<const KernelObject*, uint32_t> handle_counts_;
};

}  // namespace cek::kernel
