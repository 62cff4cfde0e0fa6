// Kernel::snapshot: the kernel's objects as `cedump` shows them (docs/cedump.md), in the schema
// both ends share (protocol/snapshot.h). Read-only over the Kernel's state.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common/utf.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "protocol/futex.h"

namespace cek::kernel {

using proto::clock_ns;
using proto::monotonic_ns;

namespace {

// Adds each object once, with its details when the snapshot is full.
struct ObjectLister {
    proto::Snapshot& s;
    bool full;
    fsys::Root* root;
    std::set<uint64_t> seen;
    size_t memory = 0;

    void add(const KernelObject& o, uint32_t handle) {
        if (!seen.insert(o.id()).second) return;
        proto::ObjectInfo info;
        info.id = o.id();
        info.type = std::string(object_type_name(o.type()));
        info.named = o.named();
        info.name = o.name();
        info.handle = handle;
        info.references = o.ref_count();
        memory += o.memory_bytes();
        if (full) {
            info.details.reserve(12);  // the most any object type describes
            o.describe(info.details);
            // Attributes live in the file system (xattr or sidecar), which the object cannot see.
            if (const auto* file = object_cast<FileObject>(const_cast<KernelObject*>(&o));
                file != nullptr && root != nullptr) {
                auto attributes = root->get_attributes(file->fd());
                char buf[16];
                std::snprintf(buf, sizeof buf, "0x%x", attributes ? attributes.value() : 0u);
                info.details.emplace_back("attributes", attributes ? buf : "?");
            }
        }
        s.objects.push_back(std::move(info));
    }
};

}  // namespace

proto::Snapshot Kernel::snapshot(SnapshotDepth depth, size_t max_handles) const {
    proto::Snapshot s;
    s.header.version = 4;
    s.header.boot_time_ns = boot_time_ns_;
    s.header.uptime_ns = clock_ns(CLOCK_MONOTONIC) - boot_mono_ns_;
    s.header.personality = personality_->version();
    s.header.kernel_pid = static_cast<int32_t>(::getpid());
    size_t memory = sizeof(*this) + handles_.memory_bytes();

    // Bounded: the cost of a snapshot (and of the copy a caller keeps) grows with what it lists.
    const size_t listed = std::min(handles_.size(), max_handles);
    if (listed < handles_.size())
        log::kernel()->info("snapshot lists {} of {} handles", listed, handles_.size());
    s.handles.reserve(listed);
    s.objects.reserve(listed);
    s.processes.reserve(processes_.size());
    size_t seen = 0;
    handles_.for_each([&](HandleValue value, const HandleTable::Entry& e) {
        if (seen++ >= listed) return;
        proto::HandleInfo h;
        h.value = value.raw;
        h.object_id = e.object->id();
        h.type = std::string(object_type_name(e.object->type()));
        h.kernel_owned = e.kernel_owned;
        for (const auto& r : e.refs)
            h.refs.push_back(proto::HandleRef{r.process.raw, r.count, r.access, 0});
        s.handles.push_back(std::move(h));
    });
    ObjectLister objects{s, depth == SnapshotDepth::full, root_.get()};
    seen = 0;
    handles_.for_each([&](HandleValue value, const HandleTable::Entry& e) {
        if (seen++ < listed) objects.add(*e.object, value.raw);
    });
    for (const auto& [id, p] : processes_) {
        proto::ProcessInfo info;
        info.id = id.raw;
        info.pid = p.pid;
        info.attach_time_ns = p.attach_time_ns;
        info.handle_count = static_cast<uint32_t>(handles_.held_by(id));
        info.view_count = static_cast<uint32_t>(p.views.size());
        for (const auto& [base, length] : p.huge) info.huge_bytes += length;
        info.executable = p.executable;
        if (p.object) {
            info.handle = handles_.id_of(p.object->handle());
            info.parent = p.object->parent();
            if (p.object->child()) info.image = utf8_from_utf16(p.object->image());
        }
        if (diagnostics_.is_tracer(id))
            info.channel_state = "tracing";
        else if (p.diagnostics)
            info.channel_state = "diagnostics";
        else
            info.channel_state = channel_probe_ ? channel_probe_(id) : "attached";
        s.processes.push_back(std::move(info));
        memory += sizeof(p) + p.views.size() * (sizeof(View) + 48) + p.executable.capacity();
        for (const auto& [address, v] : p.views) {
            objects.add(*v.mapping, 0);
            s.views.push_back(proto::ViewInfo{id.raw, v.access, address, v.mapping->id(),
                                              v.offset, v.size});
        }
    }
    memory += objects.memory;
    snapshot_waits(s);
    snapshot_threads(s);
    memory += waits_.size() * (sizeof(Wait) + 64) + deadlines_.size() * 48;
    memory += names_.memory_bytes() + diagnostics_.memory_bytes();
    s.header.kernel_memory_bytes = memory;
    return s;
}

Result<uint64_t> Kernel::freeze_snapshot(ProcessId caller) {
    if (!process_alive(caller)) return Win32Error::ERROR_INVALID_HANDLE;
    diagnostics_.drop_snapshot(caller);  // its previous one no longer counts against it
    proto::ByteWriter bytes;
    proto::encode(bytes, snapshot(SnapshotDepth::full, kSnapshotMaxHandles));
    auto charge = memory_budget_.charge(caller, bytes.bytes().size());
    if (!charge) {
        log::kernel()->debug("snapshot of {} bytes for process={} past its memory budget -> "
                             "ERROR_NOT_ENOUGH_MEMORY(8)",
                             bytes.bytes().size(), caller.raw);
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    const uint64_t total = bytes.bytes().size();
    diagnostics_.store_snapshot(caller, std::move(bytes.bytes()), std::move(*charge));
    return total;
}

void Kernel::snapshot_waits(proto::Snapshot& s) const {
    const uint64_t now = monotonic_ns();
    for (const auto& [id, w] : waits_) {
        proto::WaitInfo info;
        info.process_id = w.thread.process.raw;
        info.thread_id = w.thread.tid;
        info.timeout_ms = w.timeout_ms;
        info.waited_ns = now - w.since_ns;
        for (HandleValue h : w.handles) info.handles.push_back(h.raw);
        s.waits.push_back(std::move(info));
    }
}

void Kernel::snapshot_threads(proto::Snapshot& s) const {
    // Every thread that still has a handle: running, suspended, or exited and held open (once,
    // however many tables hold it: CE 6).
    std::unordered_set<uint64_t> listed;
    handles_.for_each([&](HandleValue, const HandleTable::Entry& e) {
        const auto* t = object_cast<ThreadObject>(e.object.get());
        if (t == nullptr || !listed.insert(t->id()).second) return;
        s.threads.push_back(proto::ThreadInfo{
            t->process().raw, handles_.id_of(t->handle()), t->tid(), t->suspend_count(),
            t->exit_code(), t->priority(), t->quantum(),
            (t->exited() ? proto::kThreadExited : 0u) | (t->created() ? proto::kThreadCreated : 0u)});
    });
}

}  // namespace cek::kernel
