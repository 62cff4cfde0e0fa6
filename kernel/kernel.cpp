#include "kernel/kernel.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "fsys/path.h"
#include "kernel/log.h"
#include "protocol/ce_constants.h"
#include "protocol/futex.h"

namespace cek::kernel {

using proto::clock_ns;

Kernel::Kernel(KernelConfig config, std::unique_ptr<fsys::Root> root)
    : config_(config),
      root_(std::move(root)),
      boot_time_ns_(clock_ns(CLOCK_REALTIME)),
      boot_mono_ns_(clock_ns(CLOCK_MONOTONIC)),
      window_(config.window_base, config.window_size),
      handles_(config.handle_capacity) {}

Kernel::~Kernel() {
    // Detach everyone so objects die in CE order before the window goes, then close what the
    // kernel itself still owns (taken-over CreateFileForMapping handles).
    while (!processes_.empty()) detach_process(processes_.begin()->first);
    for (HandleValue h : handles_.handles_of(kKernelProcess)) close_kernel_handle(h);
}

Kernel::Process* Kernel::process(ProcessId id) {
    auto it = processes_.find(id);
    return it == processes_.end() ? nullptr : &it->second;
}

Result<ProcessId> Kernel::attach_process(int pid, std::string executable, bool diagnostics) {
    if (processes_.size() >= config_.max_processes) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    ProcessId id{next_process_++};
    if (next_process_ == 0) next_process_ = 1;  // 0 is the kernel itself
    Process p{id, pid, std::move(executable), clock_ns(CLOCK_REALTIME), diagnostics, {}, {}, {}, {}};
    log::kernel()->debug("process attached id={} pid={} exe={}", id.raw, pid, p.executable);
    processes_.emplace(id, std::move(p));
    return id;
}

void Kernel::detach_process(ProcessId id) {
    Process* p = process(id);
    if (p == nullptr) return;
    size_t views = p->views.size();
    // Its pending waits go first, then the mutexes its threads own are abandoned (waking
    // other processes' waits), so no wait completes for a process that is leaving.
    drop_sync_state(*p);
    // CE 5 (CloseMappedFileHandles, then SC_CloseAllHandles): CreateFileForMapping handles no
    // mapping took over, then views, then every handle the process holds, its whole count.
    std::vector<HandleValue> cffm = std::move(p->cffm);
    for (HandleValue h : cffm) close_kernel_handle(h);
    while (!p->views.empty()) remove_view(*p, p->views.begin());
    std::vector<HandleValue> held = handles_.handles_of(id);
    for (HandleValue h : held) {
        auto dead = handles_.release_all(h, id);
        if (dead.ok() && dead.value()) entry_died(dead.value());
    }
    log::kernel()->debug("process detached id={} pid={} handles={} views={}", id.raw, p->pid,
                         held.size(), views);
    processes_.erase(id);
    // The last tracer gone: stop recording and give the ring's memory back.
    if (tracers_.erase(id) != 0 && tracers_.empty()) {
        trace_ring_.clear();
        trace_ring_.shrink_to_fit();
    }
}

void Kernel::entry_died(const Ref<KernelObject>& object) {
    if (object->named()) {
        auto& space = names(object->type());
        space.erase(object->name());
    }
    log::handle()->debug("last handle closed type={} id={}", object_type_name(object->type()),
                         object->id());
}

Result<HandleValue> Kernel::insert_handle(Ref<KernelObject> object, ProcessId owner,
                                          uint32_t access, bool kernel_owned) {
    auto h = handles_.insert(std::move(object), owner, access, kernel_owned);
    // CE 5 reports a full handle list as what it is there: an allocation failure.
    if (!h && config_.personality == 5) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    return h;
}

void Kernel::close_kernel_handle(HandleValue handle) {
    auto dead = handles_.release_all(handle, kKernelProcess);
    if (dead.ok() && dead.value()) entry_died(dead.value());
}

bool Kernel::take_cffm(Process& p, HandleValue file) {
    auto it = std::find(p.cffm.begin(), p.cffm.end(), file);
    if (it == p.cffm.end()) return false;
    p.cffm.erase(it);
    return true;
}

Result<void> Kernel::close_handle(ProcessId caller, HandleValue handle) {
    // CE 5: a CreateFileForMapping handle no mapping has taken over is closed through the
    // caller's clean-up list (TryCloseMappedHandle); after the take-over the close fails.
    Process* p = process(caller);
    if (p != nullptr && take_cffm(*p, handle)) {
        close_kernel_handle(handle);
        return {};
    }
    auto dead = handles_.release(handle, caller);
    if (!dead.ok()) {
        log::handle()->debug("close h={:#x} -> ERROR_INVALID_HANDLE(6)", handle.raw);
        return dead.error();
    }
    if (dead.value()) entry_died(dead.value());
    return {};
}

Result<HandleValue> Kernel::create_mapping(ProcessId caller, HandleValue file, uint32_t protect,
                                           uint32_t size_high, uint32_t size_low,
                                           const std::u16string* name, LastError& last_error) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // 2. Strip the bits CE ignores.
    protect &= ~(ce::kSecCommit | ce::kPageInternalDbMapping);
    if (file.raw != ce::kInvalidHandle)
        return create_file_mapping(*p, file, protect, size_high, size_low, name, last_error);
    // 4. The mapping length; bit 31 set is rejected before the name is looked up.
    const uint32_t length = size_low;
    if ((length & 0x80000000u) != 0) return Win32Error::ERROR_INVALID_PARAMETER;
    // 5. Named: the name is looked up before anything else is validated, so size 0 and any
    // protection open an existing mapping (the open-by-create idiom).
    if (name != nullptr) {
        if (name->size() > ce::kMaxNameChars) return Win32Error::ERROR_INVALID_PARAMETER;
        auto& space = names(ObjectType::Mapping);
        auto hit = space.find(*name);
        if (hit != space.end()) {
            // A process at its handle quota cannot add a name's entry either (CE 5: memory).
            if (!handles_.add_ref(hit->second, caller, 0))
                return config_.personality == 5 ? Win32Error::ERROR_NOT_ENOUGH_MEMORY
                                                : Win32Error::ERROR_NO_MORE_USER_HANDLES;
            last_error = LastError::to(Win32Error::ERROR_ALREADY_EXISTS);
            log::mapping()->debug("mapping opened by name h={:#x}", hit->second.raw);
            return hit->second;
        }
    }
    // 8. The late parameter checks.
    if (protect != ce::kPageReadOnly && protect != ce::kPageReadWrite)
        return Win32Error::ERROR_INVALID_PARAMETER;
    if (size_high != 0) return Win32Error::ERROR_INVALID_PARAMETER;
    if (length == 0 || protect == ce::kPageReadOnly) return Win32Error::ERROR_INVALID_PARAMETER;
    // 9. Room in the window and the host.
    CEK_TRY(Ref<MappingObject> mapping, MappingObject::create_ram(length, true, window_));
    if (name != nullptr) mapping->set_name(*name);
    CEK_TRY(HandleValue handle, insert_handle(mapping, caller, 0));
    if (name != nullptr) names(ObjectType::Mapping).emplace(*name, handle);
    // 11. Named: last error 0; unnamed: left alone.
    last_error = name != nullptr ? LastError::to(Win32Error::ERROR_SUCCESS) : LastError::keep();
    log::mapping()->debug("mapping created h={:#x} size={} base={:#x} name={}", handle.raw,
                          length, mapping->base(), name != nullptr ? fsys::to_utf8(*name).value_or("?") : "");
    return handle;
}

Result<MapViewResult> Kernel::map_view(ProcessId caller, HandleValue handle, uint32_t access,
                                       uint32_t offset_high, uint32_t offset_low,
                                       uint64_t size) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    HandleTable::Entry* entry = handles_.find_for(handle, caller);
    auto* mapping = entry != nullptr ? object_cast<MappingObject>(entry->object.get()) : nullptr;
    if (mapping == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // CE 5: ALL_ACCESS and READ|WRITE mean WRITE; 0 is accepted; any other bit is invalid.
    if (access == ce::kFileMapAllAccess || access == (ce::kFileMapRead | ce::kFileMapWrite))
        access = ce::kFileMapWrite;
    if ((access & ~(ce::kFileMapRead | ce::kFileMapWrite)) != 0)
        return Win32Error::ERROR_INVALID_PARAMETER;
    if ((access & ce::kFileMapWrite) != 0 && !mapping->writable())
        return Win32Error::ERROR_INVALID_PARAMETER;
    if (offset_high != 0) return Win32Error::ERROR_INVALID_PARAMETER;
    // Byte-granular offsets (CE 5 does not check alignment); size 0 runs to the end.
    const uint64_t offset = offset_low;
    if (offset >= mapping->size()) return Win32Error::ERROR_INVALID_PARAMETER;
    const uint64_t length = size == 0 ? mapping->size() - offset : size;
    if (length > mapping->size() - offset) return Win32Error::ERROR_INVALID_PARAMETER;

    MapViewResult r{};
    r.address = mapping->base() + offset;
    r.map_base = mapping->base();
    r.map_length = mapping->map_length();
    r.object_id = mapping->id();
    r.writable = mapping->writable();  // CE 5: protection is per mapping, not per view
    r.file_backed = !mapping->ram_backed();
    r.dev = mapping->dev();
    r.ino = mapping->ino();
    uint32_t& in_process = p->mapped[mapping->id()];
    r.kernel_fd = in_process == 0 ? mapping->fd() : -1;
    ++in_process;
    // The view keeps the mapping, its handle entry and so its name alive (CE 5 IncRef).
    handles_.add_ref(handle, caller, 0);
    mapping->view_added();
    p->views.emplace(r.address, View{Ref<MappingObject>(mapping), handle, offset, length, access});
    log::mapping()->debug("view mapped pid={} h={:#x} addr={:#x} len={}", p->pid, handle.raw,
                          r.address, length);
    return r;
}

UnmapResult Kernel::remove_view(Process& p, std::multimap<uint64_t, View>::iterator it) {
    View view = std::move(it->second);
    p.views.erase(it);
    UnmapResult r;
    view.mapping->view_removed();
    auto counted = p.mapped.find(view.mapping->id());
    if (counted != p.mapped.end() && --counted->second == 0) {
        p.mapped.erase(counted);
        r.release_base = view.mapping->base();
        r.release_length = view.mapping->map_length();
    }
    // Drop the handle reference the view held. The entry may already be gone if the
    // application closed the handle more often than it opened it; the view's own object
    // reference kept the pages alive until now.
    auto dead = handles_.release(view.handle, p.id);
    if (dead.ok() && dead.value()) entry_died(dead.value());
    return r;  // the last reference frees the mapping, which writes dirty pages back (FreeMap)
}

Result<UnmapResult> Kernel::unmap_view(ProcessId caller, uint64_t address) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_ADDRESS;
    auto it = p->views.find(address);
    if (it == p->views.end()) {
        log::mapping()->debug("unmap addr={:#x} -> ERROR_INVALID_ADDRESS(487)", address);
        return Win32Error::ERROR_INVALID_ADDRESS;
    }
    return remove_view(*p, it);
}

std::optional<Result<void>> Kernel::flush_view(ProcessId /*caller*/, uint64_t address,
                                               uint64_t size) {
    uint64_t base = 0;
    auto* mapping = object_cast<MappingObject>(window_.owner_of(address, &base));
    if (mapping == nullptr || address - base >= mapping->map_length()) return std::nullopt;
    if (address - base >= mapping->size()) return Result<void>{};  // the tail of the last page
    uint64_t offset = address - base;
    uint64_t length = size == 0 ? mapping->size() - offset
                                : std::min<uint64_t>(size, mapping->size() - offset);
    return mapping->flush(offset, length);
}

proto::Snapshot Kernel::snapshot(SnapshotDepth depth) const {
    proto::Snapshot s;
    s.header.version = 2;
    s.header.boot_time_ns = boot_time_ns_;
    s.header.uptime_ns = clock_ns(CLOCK_MONOTONIC) - boot_mono_ns_;
    s.header.personality = config_.personality;
    s.header.kernel_pid = static_cast<int32_t>(::getpid());
    size_t memory = sizeof(*this) + handles_.memory_bytes();

    std::unordered_map<uint32_t, uint32_t> handle_counts;  // process -> handles held
    std::set<uint64_t> seen;
    s.handles.reserve(handles_.size());
    s.objects.reserve(handles_.size());
    s.processes.reserve(processes_.size());
    handles_.for_each([&](HandleValue value, const HandleTable::Entry& e) {
        proto::HandleInfo h;
        h.value = value.raw;
        h.object_id = e.object->id();
        h.type = std::string(object_type_name(e.object->type()));
        h.kernel_owned = e.kernel_owned;
        for (const auto& r : e.refs) {
            h.refs.push_back(proto::HandleRef{r.process.raw, r.count, r.access, 0});
            ++handle_counts[r.process.raw];
        }
        s.handles.push_back(std::move(h));
    });
    auto add_object = [&](const KernelObject& o, uint32_t handle) {
        if (!seen.insert(o.id()).second) return;
        proto::ObjectInfo info;
        info.id = o.id();
        info.type = std::string(object_type_name(o.type()));
        info.named = o.named();
        info.name = o.name();
        info.handle = handle;
        info.references = o.ref_count();
        memory += o.memory_bytes();
        if (depth == SnapshotDepth::full) {
            info.details.reserve(12);  // the most any object type describes
            o.describe(info.details);
            // Attributes live in the file system (xattr or sidecar), which the object cannot see.
            if (const auto* file = object_cast<FileObject>(const_cast<KernelObject*>(&o));
                file != nullptr && root_) {
                auto attributes = root_->get_attributes(file->fd());
                char buf[16];
                std::snprintf(buf, sizeof buf, "0x%x", attributes ? attributes.value() : 0u);
                info.details.emplace_back("attributes", attributes ? buf : "?");
            }
        }
        s.objects.push_back(std::move(info));
    };
    handles_.for_each([&](HandleValue value, const HandleTable::Entry& e) {
        add_object(*e.object, value.raw);
    });
    for (const auto& [id, p] : processes_) {
        proto::ProcessInfo info;
        info.id = id.raw;
        info.pid = p.pid;
        info.attach_time_ns = p.attach_time_ns;
        info.handle_count = handle_counts[id.raw];
        info.view_count = static_cast<uint32_t>(p.views.size());
        info.executable = p.executable;
        if (tracers_.count(id) != 0)
            info.channel_state = "tracing";
        else if (p.diagnostics)
            info.channel_state = "diagnostics";
        else
            info.channel_state = channel_probe_ ? channel_probe_(id) : "attached";
        s.processes.push_back(std::move(info));
        memory += sizeof(p) + p.views.size() * (sizeof(View) + 48) + p.executable.capacity();
        for (const auto& [address, v] : p.views) {
            add_object(*v.mapping, 0);
            s.views.push_back(proto::ViewInfo{id.raw, v.access, address, v.mapping->id(),
                                              v.offset, v.size});
        }
    }
    snapshot_waits(s);
    memory += waits_.size() * (sizeof(Wait) + 64) + deadlines_.size() * 48;
    for (const auto& space : names_)
        for (const auto& [name, h] : space) memory += sizeof(h) + 48 + name.capacity() * 2;
    memory += trace_ring_.capacity() * sizeof(TraceEntry);
    for (const auto& e : trace_ring_) memory += e.args.capacity() + e.result.capacity();
    s.header.kernel_memory_bytes = memory;
    return s;
}

void Kernel::trace_record(TraceEntry entry) {
    if (trace_ring_.empty()) {
        trace_ring_.resize(std::max(config_.trace_capacity, 1u));
        trace_first_ = trace_next_;
    }
    entry.record.seq = trace_next_++;
    auto it = processes_.find(ProcessId{entry.record.process_id});
    entry.record.pid = it == processes_.end() ? 0 : it->second.pid;
    trace_ring_[entry.record.seq % trace_ring_.size()] = std::move(entry);
}

size_t Kernel::trace_read(ProcessId tracer, uint64_t cursor, std::span<std::byte> out,
                          proto::TraceReadReply& reply) {
    reply = {};
    if (cursor == 0 || cursor > trace_next_) {
        tracers_.insert(tracer);
        cursor = trace_next_;  // a new tracer sees what happens from now on
    }
    // The ring holds seqs [oldest, trace_next_); anything older was overwritten.
    const uint64_t held = trace_ring_.empty()
                              ? 0
                              : std::min<uint64_t>(trace_next_ - trace_first_, trace_ring_.size());
    const uint64_t oldest = trace_next_ - held;
    if (cursor < oldest) {
        reply.lost = oldest - cursor;
        cursor = oldest;
    }
    size_t used = 0;
    for (; cursor < trace_next_; ++cursor) {
        const TraceEntry& e = trace_ring_[cursor % trace_ring_.size()];
        proto::TraceRecordWire w = e.record;
        w.args_bytes = static_cast<uint16_t>(e.args.size());
        w.result_bytes = static_cast<uint16_t>(e.result.size());
        size_t need = sizeof w + e.args.size() + e.result.size();
        if (out.size() - used < need) break;
        std::memcpy(out.data() + used, &w, sizeof w);
        std::memcpy(out.data() + used + sizeof w, e.args.data(), e.args.size());
        std::memcpy(out.data() + used + sizeof w + e.args.size(), e.result.data(),
                    e.result.size());
        used += need;
        ++reply.count;
    }
    reply.next_cursor = cursor;
    return used;
}

void Kernel::store_snapshot(ProcessId caller, std::vector<std::byte> bytes) {
    if (Process* p = process(caller)) p->snapshot = std::move(bytes);
}

const std::vector<std::byte>* Kernel::stored_snapshot(ProcessId caller) const {
    auto it = processes_.find(caller);
    if (it == processes_.end() || it->second.snapshot.empty()) return nullptr;
    return &it->second.snapshot;
}

}  // namespace cek::kernel
