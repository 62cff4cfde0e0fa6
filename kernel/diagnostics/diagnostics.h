// Diagnostics: what the kernel keeps for `cedump` besides the objects themselves. The trace ring
// (records of requests, kept only while at least one tracer is attached) and the snapshots that
// callers froze and read back in chunks. The snapshot itself is built by Kernel::snapshot
// (snapshot.cpp beside this file), which reads the kernel's state.
//
// Threading: owned by the Kernel, on its one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "kernel/core/ids.h"
#include "kernel/core/memory_budget.h"
#include "protocol/trace.h"

namespace cek::kernel {

// One traced request (or the completion of one left pending), with its decoded text.
struct TraceEntry {
    proto::TraceRecordWire record{};
    std::string args;
    std::string result;
};

// Where a TraceRead left off.
struct TraceCursor {
    uint64_t next = 0;   // the cursor for the next read
    uint64_t lost = 0;   // records overwritten before this tracer read them
    uint32_t count = 0;  // records packed
    size_t bytes = 0;    // bytes of `out` used
};

class Diagnostics {
public:
    explicit Diagnostics(uint32_t trace_capacity) : capacity_(trace_capacity) {}

    // Tracing: the dispatcher records requests only while tracing() holds, so an untraced
    // kernel pays one branch per request. The ring is bounded (trace_capacity).
    bool tracing() const { return !tracers_.empty(); }
    // Stores `entry` (its seq is filled in here), dropping the oldest when full.
    void record(TraceEntry entry);
    // The end of a wait that was traced as "pending": a record of its own, with how long it
    // waited (`since_ns`, CLOCK_MONOTONIC) and its WAIT_* result.
    void record_wait_done(ProcessId process, uint32_t tid, int pid, uint64_t since_ns,
                          uint32_t result);
    // The newest record, when it is thread `tid` of `process`'s, now says the call failed with
    // `error`: the server refused what the handler's success named (a descriptor it could not
    // send), so the caller saw this failure, not the handler's result.
    void fail_last(ProcessId process, uint32_t tid, uint32_t error);
    // TraceRead: attaches `tracer` on cursor 0 and packs the records from the cursor into `out`
    // (TraceRecordWire + strings each, as many as fit).
    TraceCursor read(ProcessId tracer, uint64_t cursor, std::span<std::byte> out);
    bool is_tracer(ProcessId process) const { return tracers_.count(process) != 0; }

    // A frozen, encoded snapshot per process (Snapshot, then SnapshotRead in chunks), with the
    // charge on the caller's MemoryBudget that it holds until replaced or forgotten.
    void store_snapshot(ProcessId caller, std::vector<std::byte> bytes,
                        MemoryBudget::Charge charge = {});
    // Drops a process's stored snapshot (before it freezes a new one).
    void drop_snapshot(ProcessId caller) { snapshots_.erase(caller); }
    const std::vector<std::byte>* stored_snapshot(ProcessId caller) const;

    // A process left: it stops tracing (the last tracer gone, the ring's memory goes back) and
    // its stored snapshot goes.
    void forget(ProcessId process);
    size_t memory_bytes() const;

private:
    uint32_t capacity_;
    std::set<ProcessId> tracers_;
    std::vector<TraceEntry> ring_;  // capacity_ slots once someone traces
    uint64_t next_ = 1;             // seq of the next record; 0 is "attach" on the wire
    uint64_t first_ = 1;            // seq of the first record since the ring was made
    struct Stored {
        std::vector<std::byte> bytes;
        MemoryBudget::Charge charge;
    };
    std::map<ProcessId, Stored> snapshots_;
};

}  // namespace cek::kernel
