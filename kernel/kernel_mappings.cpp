// File mappings and their views: CreateFileMappingW (RAM-backed and file-backed: CE 5's order of
// checks, and CE 6's), MapViewOfFile, UnmapViewOfFile, FlushViewOfFile. Rules:
// docs/semantics/mappings.md; the step numbers in comments are its §2 steps (CE 5's numbering;
// create_mapping_ce6 numbers CE 6's steps).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "fsys/attributes.h"
#include "fsys/path.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"

namespace cek::kernel {

Result<HandleValue> Kernel::create_mapping(ProcessId caller, HandleValue file, uint32_t protect,
                                           uint32_t size_high, uint32_t size_low,
                                           const std::u16string* name, LastError& last_error) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (personality_->mapping_order() == MappingOrder::Ce6)
        return create_mapping_ce6(*p, file, protect, size_high, size_low, name, last_error);
    // 2. Strip the bits CE ignores.
    protect &= ~(ce::kSecCommit | ce::kPageInternalDbMapping);
    if (file.raw != ce::kInvalidHandle)
        return create_file_mapping(*p, file, protect, size_high, size_low, name, last_error);
    // 4. The mapping length; bit 31 set is rejected before the name is looked up.
    const uint32_t length = size_low;
    if ((length & 0x80000000u) != 0) return Win32Error::ERROR_INVALID_PARAMETER;
    // 5. The name is looked up before anything else is validated, so size 0 and any protection
    // open an existing mapping (the open-by-create idiom).
    auto handle = create_named(caller, ObjectType::Mapping, name, last_error,
                               [&]() -> Result<Ref<MappingObject>> {
        // 8. The late parameter checks.
        if (protect != ce::kPageReadOnly && protect != ce::kPageReadWrite)
            return Win32Error::ERROR_INVALID_PARAMETER;
        if (size_high != 0) return Win32Error::ERROR_INVALID_PARAMETER;
        if (length == 0 || protect == ce::kPageReadOnly) return Win32Error::ERROR_INVALID_PARAMETER;
        // 9. Room in the window and the host.
        return MappingObject::create_ram(length, true, window_);
    });
    if (handle)
        log::mapping()->debug("mapping h={:#x} size={} name={}", handle->raw, length,
                              log::text(name));
    return handle;
}

Result<HandleValue> Kernel::create_file_mapping(Process& p, HandleValue file, uint32_t protect,
                                                uint32_t size_high, uint32_t size_low,
                                                const std::u16string* name,
                                                LastError& last_error) {
    // 2. The handle leaves the caller's clean-up list on every path; a handle taken that way is
    // closed at once on every path but success, where the mapping takes it over.
    const bool taken = take_cffm(p, file);
    auto fail = [&](Win32Error e) -> Result<HandleValue> {
        if (taken) close_cffm(p, file);
        log::mapping()->debug("file mapping h={:#x} -> {}({})", file.raw, error_name(e), to_u32(e));
        return e;
    };
    // 3. The file's length, read through the handle.
    auto f = lookup<FileObject>(p.id, file, Need::nothing, Win32Error::ERROR_INVALID_PARAMETER);
    struct stat st {};
    if (!f || f.value()->is_directory() || ::fstat(f.value()->fd(), &st) != 0)
        return fail(Win32Error::ERROR_INVALID_PARAMETER);
    FileObject* fo = f.value();
    const auto file_length = static_cast<uint64_t>(st.st_size);
    // 4. The mapping's length; a longer mapping extends the file now, before anything else.
    const uint64_t length = size_low != 0 ? size_low : file_length;
    if (length >= 0x80000000ULL) return fail(Win32Error::ERROR_INVALID_PARAMETER);
    if (length > file_length) {
        if (!fo->access().write || ::ftruncate(fo->fd(), static_cast<off_t>(length)) != 0)
            return fail(Win32Error::ERROR_ACCESS_DENIED);
    }
    // 5. The name is looked up before the remaining checks; a hit closes the file handle.
    LastError le;
    auto handle = create_named(p.id, ObjectType::Mapping, name, le,
                               [&]() -> Result<Ref<MappingObject>> {
        // 7. A read-write mapping of a non-empty file reads byte 0 and writes it back.
        if (protect == ce::kPageReadWrite && std::max(length, file_length) != 0) {
            char byte = 0;
            if (!fo->access().write || ::pread(fo->fd(), &byte, 1, 0) != 1 ||
                ::pwrite(fo->fd(), &byte, 1, 0) != 1)
                return Win32Error::ERROR_ACCESS_DENIED;
        }
        // 8. The late parameter checks.
        if (protect != ce::kPageReadOnly && protect != ce::kPageReadWrite)
            return Win32Error::ERROR_INVALID_PARAMETER;
        if (size_high != 0 || length == 0) return Win32Error::ERROR_INVALID_PARAMETER;
        // 10. Only a CreateFileForMapping handle no mapping owns yet.
        HandleTable::Entry* entry = handles_.find_for(file, p.id);
        const bool cffm_handle =
            entry != nullptr && entry->kernel_owned && fo->for_mapping() && fo->mapped_by() == 0;
        if (!cffm_handle) {
            log::mapping()->debug("h={:#x} was not created with CreateFileForMapping", file.raw);
            return Win32Error::ERROR_INVALID_PARAMETER;
        }
        // 9. Room in the window. At the handle quota the new mapping dies before it owns the
        // file handle.
        return MappingObject::create_file(Ref<FileObject>(fo), length,
                                          protect == ce::kPageReadWrite, window_);
    });
    if (!handle) return fail(handle.error());
    last_error = le;
    if (le.set && le.code == Win32Error::ERROR_ALREADY_EXISTS) {
        if (taken) close_kernel_handle(file);
        return handle;
    }
    // 11. Success: the mapping owns the file handle and closes it when it dies (FreeMap). A
    // handle another process created is on that process's list: take it off there too, only now
    // (on every failure it stays there, so that process still closes it).
    auto* mapping =
        object_cast<MappingObject>(handles_.find_for(handle.value(), p.id)->object.get());
    mapping->on_destroy([this, file] { close_kernel_handle(file); });
    for (auto& [id, other] : processes_) take_cffm(other, file);
    log::mapping()->debug("file mapping created h={:#x} file={:#x} size={} base={:#x}",
                          handle->raw, file.raw, length, mapping->base());
    return handle;
}

// CE 6/7's order (mappings.md §2, "CE 6"): the internal flags, then the name, which bypasses
// every other check (the file handle included); then the handle, the protection, the size and
// an access test. The file handle is never taken over, and the last error is set on success too.
Result<HandleValue> Kernel::create_mapping_ce6(Process& p, HandleValue file, uint32_t protect,
                                               uint32_t size_high, uint32_t size_low,
                                               const std::u16string* name,
                                               LastError& last_error) {
    const bool taken = take_cffm(p, file);  // linked to the mapping handle, or closed on failure
    auto fail = [&](Win32Error e) -> Result<HandleValue> {
        if (taken) close_cffm(p, file);
        log::mapping()->debug("mapping file={:#x} -> {}({})", file.raw, error_name(e), to_u32(e));
        return e;
    };
    // 1. The database flag only without a name; it and SEC_COMMIT are dropped.
    if ((protect & ce::kPageInternalDbMapping) != 0 && name != nullptr)
        return fail(Win32Error::ERROR_INVALID_PARAMETER);
    protect &= ~(ce::kSecCommit | ce::kPageInternalDbMapping);
    LastError le;
    auto handle = create_named(p.id, ObjectType::Mapping, name, le,
                               [&]() -> Result<Ref<MappingObject>> {
        // 2. A file handle of the caller's: CE 6 answers a value that names nothing with
        // ERROR_OUTOFMEMORY (its fall-through; CE 7 says ERROR_INVALID_HANDLE).
        FileObject* fo = nullptr;
        if (file.raw != ce::kInvalidHandle) {
            HandleTable::Entry* entry = handles_.find_for(file, p.id);
            if (entry == nullptr) return Win32Error::ERROR_OUTOFMEMORY;
            fo = object_cast<FileObject>(entry->object.get());
            if (fo == nullptr || fo->is_directory()) return Win32Error::ERROR_INVALID_HANDLE;
        }
        // 3. Exactly read-only or read-write.
        if (protect != ce::kPageReadOnly && protect != ce::kPageReadWrite)
            return Win32Error::ERROR_INVALID_PARAMETER;
        const bool writable = protect == ce::kPageReadWrite;
        if (fo == nullptr) {
            // 4. RAM-backed: read-write, 1 byte to 2 GB.
            if (size_high != 0 || size_low == 0 || (size_low & 0x80000000u) != 0 || !writable)
                return Win32Error::ERROR_INVALID_PARAMETER;
            auto ram = MappingObject::create_ram(size_low, true, window_);
            if (!ram) return Win32Error::ERROR_OUTOFMEMORY;
            return ram;
        }
        // 6. A read-only file is not mapped read-write.
        if (writable && root_) {
            auto attributes = root_->get_attributes(fo->fd());
            if (attributes && (attributes.value() & fsys::kAttrReadonly) != 0)
                return Win32Error::ERROR_ACCESS_DENIED;
        }
        // 7. The size, 64-bit for files; 0 is the file's, and an empty file has none to give.
        struct stat st {};
        if (::fstat(fo->fd(), &st) != 0) return Win32Error::ERROR_INVALID_HANDLE;
        const auto file_length = static_cast<uint64_t>(st.st_size);
        uint64_t length = uint64_t{size_high} << 32 | size_low;
        if (length == 0) {
            if (file_length == 0) return Win32Error::ERROR_INVALID_PARAMETER;
            length = file_length;
        }
        if (length > file_length) {
            if (!writable) return Win32Error::ERROR_ACCESS_DENIED;
            if (!fo->access().write || ::ftruncate(fo->fd(), static_cast<off_t>(length)) != 0)
                return Win32Error::ERROR_DISK_FULL;
        }
        // 8. The access test: byte 0 read, and written back for a read-write mapping.
        char byte = 0;
        if (!fo->access().read || ::pread(fo->fd(), &byte, 1, 0) != 1)
            return Win32Error::ERROR_ACCESS_DENIED;
        if (writable && (!fo->access().write || ::pwrite(fo->fd(), &byte, 1, 0) != 1))
            return Win32Error::ERROR_ACCESS_DENIED;
        // 9. No range of the window: each view will have its own.
        auto mapped =
            MappingObject::create_file(Ref<FileObject>(fo), length, writable, window_, false);
        if (!mapped) return Win32Error::ERROR_OUTOFMEMORY;
        return mapped;
    });
    if (!handle) return fail(handle.error());
    // 10. The file stays the caller's; one CreateFileForMapping made is closed with this handle.
    if (taken) p.cffm_links[handle->raw] = file;
    last_error = le.set ? le : LastError::to(Win32Error::ERROR_SUCCESS);
    log::mapping()->debug("mapping created h={:#x} file={:#x}", handle->raw, file.raw);
    return handle;
}

namespace {

// What a client needs to map `mapping`'s whole range, for an access at `address`; no descriptor.
MapViewResult where_to_map(const MappingObject& mapping, uint64_t address) {
    MapViewResult r{};
    r.address = address;
    r.map_base = mapping.base();
    r.map_length = mapping.map_length();
    r.object_id = mapping.id();
    r.kernel_fd = -1;
    r.writable = mapping.writable();  // CE 5: protection is per mapping, not per view
    r.file_backed = !mapping.ram_backed();
    r.dev = mapping.dev();
    r.ino = mapping.ino();
    return r;
}

}  // namespace

Result<MapViewResult> Kernel::map_view(ProcessId caller, HandleValue handle, uint32_t access,
                                       uint32_t offset_high, uint32_t offset_low,
                                       uint64_t size, std::span<const HeldRange> held) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(MappingObject * mapping, lookup<MappingObject>(caller, handle));
    if (personality_->view_rules() == ViewRules::Ce6)
        return map_view_ce6(*p, handle, *mapping, access, uint64_t{offset_high} << 32 | offset_low,
                            size, held);
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

    MapViewResult r = where_to_map(*mapping, mapping->base() + offset);
    r.view_length = length;
    uint32_t& in_process = p->mapped[mapping->id()];
    r.kernel_fd = in_process == 0 ? mapping->shared_fd() : -1;
    ++in_process;
    // The view keeps the mapping, a handle on it and so its name alive (CE 5: a reference on
    // the caller's entry, IncRef; CE 6: a handle count of the view object).
    if (personality_->view_holds_handle()) {
        if (handles_.global())
            handles_.add_ref(handle, caller, 0);
        else
            handles_.hold(Ref<KernelObject>(mapping));
    }
    mapping->view_added();
    p->views.emplace(r.address, View{Ref<MappingObject>(mapping), handle, offset, length, access});
    log::mapping()->debug("view mapped pid={} h={:#x} addr={:#x} len={}", p->pid, handle.raw,
                          r.address, length);
    return r;
}

// CE 6/7 (mappings.md §3, "CE 6"): 64-bit offsets; an identical view of the caller's is reused
// (ERROR_ALREADY_EXISTS); at most kMaxViewsPerMapping views; a file view gets a range of its own
// that starts at the 64 KiB-aligned offset below the requested one, with the view's protection;
// a RAM-backed view is the mapping's common range at base + offset. A file view takes a range the
// caller still holds for the same pages (`held`) when that range is free, so the caller maps it
// back without a descriptor.
Result<MapViewResult> Kernel::map_view_ce6(Process& p, HandleValue handle, MappingObject& mapping,
                                           uint32_t access, uint64_t offset, uint64_t size,
                                           std::span<const HeldRange> held) {
    constexpr uint32_t kReadWrite = ce::kFileMapRead | ce::kFileMapWrite;
    constexpr uint32_t kMaxViewsPerMapping = 20000;
    constexpr uint64_t kBlock = 0x10000;  // CE's VM_BLOCK_SIZE
    // 1. ALL_ACCESS is READ|WRITE; any other bit is invalid; a write view needs a writable map.
    if (access == ce::kFileMapAllAccess) access = kReadWrite;
    if ((access & ~kReadWrite) != 0) return Win32Error::ERROR_INVALID_PARAMETER;
    const bool write = (access & ce::kFileMapWrite) != 0;
    if (write && !mapping.writable()) return Win32Error::ERROR_INVALID_PARAMETER;
    // 2. The size: 0 runs to the end (more than 4 GB is CE 6's ERROR_OUTOFMEMORY, nothing left
    // is invalid); the view must end inside the mapping.
    if (offset > mapping.size()) return Win32Error::ERROR_INVALID_PARAMETER;
    uint64_t length = size;
    if (length == 0) {
        length = mapping.size() - offset;
        if (length > 0xFFFFFFFFu) return Win32Error::ERROR_OUTOFMEMORY;
    }
    if (length == 0 || length > mapping.size() - offset)
        return Win32Error::ERROR_INVALID_PARAMETER;
    // 3. The same view again: one more use of it, and ERROR_ALREADY_EXISTS with success.
    const uint32_t protection = write ? kReadWrite : ce::kFileMapRead;
    const ViewKey key{mapping.id(), offset, length, protection};
    if (auto same = p.view_keys.find(key); same != p.view_keys.end()) {
        // RAM views of one offset share an address: the view with this key among them.
        auto [first, last] = p.views.equal_range(same->second);
        auto it = std::find_if(first, last, [&](const auto& v) {
            return v.second.offset == offset && v.second.size == length &&
                   v.second.access == protection;
        });
        if (it == last) return Win32Error::ERROR_INVALID_PARAMETER;  // never: keys follow views
        ++it->second.uses;
        MapViewResult r = where_to_map(mapping, same->second);
        r.reused = true;
        r.pages_own = mapping.ram_backed();
        r.view_writes = write;
        r.view_length = length;
        log::mapping()->debug("view reused pid={} h={:#x} addr={:#x} uses={}", p.pid, handle.raw,
                              same->second, it->second.uses);
        return r;
    }
    if (mapping.view_count() >= kMaxViewsPerMapping) return Win32Error::ERROR_OUTOFMEMORY;
    // 4. Its place: a range of its own for a file view, the mapping's range for a RAM view.
    MapViewResult r{};
    uint32_t& in_process = p.mapped[mapping.id()];
    View view{Ref<MappingObject>(&mapping), handle, offset, length, protection};
    if (mapping.ram_backed()) {
        // The mapping's common range, of which the caller opens only the view's pages, with
        // the view's protection merged with its other views' (mappings.md §3.1).
        r = where_to_map(mapping, mapping.base() + offset);
        r.pages_own = true;
    } else {
        static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
        const uint64_t start = offset & ~(kBlock - 1);
        const uint64_t span = (offset - start + length + page - 1) & ~(page - 1);
        std::optional<uint64_t> base;
        for (const HeldRange& h : held) {
            if (h.mapping == mapping.id() && h.file_offset == start && h.length == span &&
                h.writable == write && window_.allocate_at(h.base, span, &mapping)) {
                base = h.base;
                break;
            }
        }
        const bool revived = base.has_value();
        if (!base) base = window_.allocate(span, &mapping);
        if (!base) {
            if (in_process == 0) p.mapped.erase(mapping.id());
            log::mapping()->debug("window full: no room for a view of {} bytes", span);
            return Win32Error::ERROR_OUTOFMEMORY;
        }
        r = where_to_map(mapping, *base + (offset - start));
        r.revived = revived;
        r.map_base = *base;
        r.map_length = span;
        r.writable = write;
        r.own_range = true;
        r.file_offset = start;
        view.range_base = *base;
        view.range_length = span;
    }
    // The descriptor goes with the first view here (RAM: its range is mapped whole), or for a
    // file view with the first one the client maps from a descriptor, which it keeps.
    if (!r.own_range)
        r.kernel_fd = in_process == 0 ? mapping.shared_fd() : -1;
    else if (!r.revived && p.fds_held.insert(mapping.id()).second)
        r.kernel_fd = mapping.shared_fd();
    else
        r.kernel_fd = -1;
    view.carried_fd = r.own_range && r.kernel_fd >= 0;
    r.view_writes = write;
    r.view_length = length;
    ++in_process;
    // Each view object holds a handle count on the mapping (mappings.md §6).
    handles_.hold(Ref<KernelObject>(&mapping));
    mapping.view_added();
    p.views.emplace(r.address, std::move(view));
    p.view_keys.emplace(key, r.address);
    log::mapping()->debug("view mapped pid={} h={:#x} addr={:#x} len={} own={}", p.pid,
                          handle.raw, r.address, length, r.own_range);
    return r;
}

Result<MapViewResult> Kernel::touch_window(ProcessId caller, uint64_t address) {
    Process* p = process(caller);
    if (p == nullptr || p->diagnostics || !personality_->views_global())
        return Win32Error::ERROR_INVALID_ADDRESS;
    uint64_t base = 0;
    auto* mapping = object_cast<MappingObject>(window_.owner_of(address, &base));
    if (mapping == nullptr || address - base >= mapping->map_length()) {
        log::mapping()->debug("touch pid={} addr={:#x}: no mapping there", p->pid, address);
        return Win32Error::ERROR_INVALID_ADDRESS;
    }
    mapping->touched_by(caller);
    p->touched.insert(base);
    MapViewResult r = where_to_map(*mapping, address);
    r.kernel_fd = mapping->shared_fd();
    log::mapping()->debug("touch pid={} addr={:#x} -> mapping id={} base={:#x}", p->pid, address,
                          r.object_id, base);
    return r;
}

void Kernel::forget_touches(Process& p) {
    for (uint64_t base : p.touched) {
        uint64_t start = 0;
        auto* mapping = object_cast<MappingObject>(window_.owner_of(base, &start));
        if (mapping != nullptr && start == base) mapping->forget_toucher(p.id);
    }
    p.touched.clear();
}

UnmapResult Kernel::remove_view(Process& p, std::multimap<uint64_t, View>::iterator it) {
    View view = std::move(it->second);
    p.views.erase(it);
    p.view_keys.erase(ViewKey{view.mapping->id(), view.offset, view.size, view.access});
    UnmapResult r;
    view.mapping->view_removed();
    auto counted = p.mapped.find(view.mapping->id());
    const bool last_here = counted != p.mapped.end() && --counted->second == 0;
    if (last_here) p.mapped.erase(counted);
    if (view.range_length != 0) {  // CE 6's file view: its own range goes
        window_.free(view.range_base);
        r.release_base = view.range_base;
        r.release_length = view.range_length;
        if (last_here && p.fds_held.erase(view.mapping->id()) != 0)
            r.forget_object = view.mapping->id();
    } else if (last_here) {
        r.release_base = view.mapping->base();
        r.release_length = view.mapping->map_length();
    }
    // Drop the handle reference the view held. The entry may already be gone if the
    // application closed the handle more often than it opened it; the view's own object
    // reference kept the pages alive until now.
    if (personality_->view_holds_handle()) {
        if (handles_.global())
            release(view.handle, p.id);
        else if (Ref<KernelObject> dead = handles_.unhold(*view.mapping))
            entry_died(dead);
    }
    return r;  // the last reference frees the mapping, which writes dirty pages back (FreeMap)
}

Result<UnmapResult> Kernel::unmap_view(ProcessId caller, uint64_t address) {
    Process* p = process(caller);
    if (p == nullptr) return personality_->unmap_error();
    // Of several views at one address (CE 6's RAM views of one offset), the oldest goes.
    auto it = p->views.lower_bound(address);
    if (it == p->views.end() || it->first != address) {
        log::mapping()->debug("unmap addr={:#x} -> {}", address,
                              error_name(personality_->unmap_error()));
        return personality_->unmap_error();
    }
    // CE 6 writes every unmapped view back; the pages are the caller's mapping of the file, so
    // the caller writes them (the kernel's loop never waits for a disk). A view mapped more than
    // once (CE 6's reuse) stays until its last unmap.
    View& view = it->second;
    const bool write_back = personality_->unmap_writes_back() && !view.mapping->ram_backed() &&
                            (view.access & ce::kFileMapWrite) != 0;
    const uint64_t view_length = view.size;
    const bool pages_own = !personality_->views_global() && view.mapping->ram_backed();
    const bool view_writes = (view.access & ce::kFileMapWrite) != 0;
    UnmapResult r;
    if (view.uses > 1) {
        --view.uses;
    } else {
        r = remove_view(*p, it);
        if (pages_own) {  // CE 6's RAM view: the caller protects its pages again
            r.view_length = view_length;
            r.view_writes = view_writes;
        }
    }
    if (write_back) {
        r.flush_base = address;
        r.flush_length = view_length;
    }
    return r;
}

void Kernel::undo_view(ProcessId caller, uint64_t address) {
    Process* p = process(caller);
    if (p == nullptr) return;
    // The view just made: the newest at the address.
    auto [first, last] = p->views.equal_range(address);
    if (first == last) return;
    auto it = std::prev(last);
    if (it->second.carried_fd) p->fds_held.erase(it->second.mapping->id());
    if (it->second.uses > 1)
        --it->second.uses;
    else
        (void)remove_view(*p, it);
}

std::optional<Result<FlushRange>> Kernel::flush_view(ProcessId caller, uint64_t address,
                                                     uint64_t size) {
    if (!personality_->views_global()) return flush_own_view(caller, address, size);
    uint64_t base = 0;
    auto* mapping = object_cast<MappingObject>(window_.owner_of(address, &base));
    if (mapping == nullptr || address - base >= mapping->map_length()) return std::nullopt;
    if (address - base >= mapping->size()) return FlushRange{};  // the tail of the last page
    uint64_t offset = address - base;
    uint64_t length = size == 0 ? mapping->size() - offset
                                : std::min<uint64_t>(size, mapping->size() - offset);
    CEK_TRY_VOID(mapping->flush(offset, length));
    return FlushRange{};
}

// CE 6: the range must lie in one of the caller's views; size 0 runs to the end of that view.
Result<FlushRange> Kernel::flush_own_view(ProcessId caller, uint64_t address, uint64_t size) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_PARAMETER;
    for (const auto& [start, view] : p->views) {
        if (start > address) break;  // by address: no later view starts at or below it
        const uint64_t end = start + view.size;
        if (address >= end || (size != 0 && size > end - address)) continue;
        // RAM and read views: nothing to write (CE: TRUE).
        if (view.mapping->ram_backed() || (view.access & ce::kFileMapWrite) == 0)
            return FlushRange{};
        return FlushRange{address, size == 0 ? end - address : size};
    }
    log::mapping()->debug("flush addr={:#x} size={:#x}: in no view of the caller", address, size);
    return Win32Error::ERROR_INVALID_PARAMETER;
}

}  // namespace cek::kernel
