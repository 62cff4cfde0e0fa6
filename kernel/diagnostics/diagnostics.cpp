#include "kernel/diagnostics/diagnostics.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "protocol/futex.h"
#include "protocol/request_codes.h"

namespace cek::kernel {

void Diagnostics::record(TraceEntry entry) {
    if (ring_.empty()) {
        ring_.resize(std::max(capacity_, 1u));
        first_ = next_;
    }
    entry.record.seq = next_++;
    ring_[entry.record.seq % ring_.size()] = std::move(entry);
}

void Diagnostics::fail_last(ProcessId process, uint32_t tid, uint32_t error) {
    if (ring_.empty() || next_ == first_) return;
    TraceEntry& e = ring_[(next_ - 1) % ring_.size()];
    if (e.record.process_id != process.raw || e.record.thread_id != tid) return;
    e.record.failed = 1;
    e.record.set_error = 1;
    e.record.error = error;
    e.result.clear();
}

void Diagnostics::record_wait_done(ProcessId process, uint32_t tid, int pid, uint64_t since_ns,
                                   uint32_t result) {
    TraceEntry e;
    e.record.time_ns = proto::realtime_ns();
    e.record.duration_ns = proto::monotonic_ns() - since_ns;
    e.record.process_id = process.raw;
    e.record.pid = pid;
    e.record.thread_id = tid;
    e.record.code = static_cast<uint32_t>(proto::RequestCode::WaitObjects);
    e.args = "(completed)";
    char text[16];
    std::snprintf(text, sizeof text, "0x%x", result);
    e.result = text;
    record(std::move(e));
}

TraceCursor Diagnostics::read(ProcessId tracer, uint64_t cursor, std::span<std::byte> out) {
    TraceCursor r;
    if (cursor == 0 || cursor > next_) {
        tracers_.insert(tracer);
        cursor = next_;  // a new tracer sees what happens from now on
    }
    // The ring holds seqs [oldest, next_); anything older was overwritten.
    const uint64_t held = ring_.empty() ? 0 : std::min<uint64_t>(next_ - first_, ring_.size());
    const uint64_t oldest = next_ - held;
    if (cursor < oldest) {
        r.lost = oldest - cursor;
        cursor = oldest;
    }
    for (; cursor < next_; ++cursor) {
        const TraceEntry& e = ring_[cursor % ring_.size()];
        proto::TraceRecordWire w = e.record;
        w.args_bytes = static_cast<uint16_t>(e.args.size());
        w.result_bytes = static_cast<uint16_t>(e.result.size());
        const size_t need = sizeof w + e.args.size() + e.result.size();
        if (out.size() - r.bytes < need) break;
        std::byte* at = out.data() + r.bytes;
        std::memcpy(at, &w, sizeof w);
        std::memcpy(at + sizeof w, e.args.data(), e.args.size());
        std::memcpy(at + sizeof w + e.args.size(), e.result.data(), e.result.size());
        r.bytes += need;
        ++r.count;
    }
    r.next = cursor;
    return r;
}

void Diagnostics::store_snapshot(ProcessId caller, std::vector<std::byte> bytes,
                                 MemoryBudget::Charge charge) {
    snapshots_[caller] = Stored{std::move(bytes), std::move(charge)};
}

const std::vector<std::byte>* Diagnostics::stored_snapshot(ProcessId caller) const {
    auto it = snapshots_.find(caller);
    if (it == snapshots_.end() || it->second.bytes.empty()) return nullptr;
    return &it->second.bytes;
}

void Diagnostics::forget(ProcessId process) {
    snapshots_.erase(process);
    if (tracers_.erase(process) != 0 && tracers_.empty()) {
        ring_.clear();
        ring_.shrink_to_fit();
    }
}

size_t Diagnostics::memory_bytes() const {
    size_t memory = ring_.capacity() * sizeof(TraceEntry);
    for (const auto& e : ring_) memory += e.args.capacity() + e.result.capacity();
    for (const auto& [process, stored] : snapshots_) memory += stored.bytes.capacity();
    return memory;
}

}  // namespace cek::kernel
