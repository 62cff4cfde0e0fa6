// CreateFileMappingW, MapViewOfFile, UnmapViewOfFile, FlushViewOfFile.
// The kernel decides everything; the shim maps the pages it is told to at the address it is
// told, and answers FlushViewOfFile for its own RAM-backed views without a round trip.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <span>
#include <string>

#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
#include "coredll/client/window.h"
#include "coredll/api/api.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

enum class MapOutcome { mapped, failed, revive_lost };

// Takes back a view the kernel made and this process could not map.
void undo_view(Connection& kernel, uint64_t address) {
    proto::UnmapViewRequest undo{address};
    proto::UnmapViewReply undone{};
    if (kernel.call(undo, undone).delivered && undone.forget_object != 0)
        Window::instance().forget_fd(undone.forget_object);
}

// CE 6's file view: its own range, mapped from the descriptor of the mapping this process keeps
// (sent with the first view of the mapping here). Window lock held.
MapOutcome map_own_range(Window& window, Connection& kernel, const proto::MapViewReply& rep,
                         Window::Range range, LPVOID& address) {
    range.own = true;
    range.file_offset = rep.file_offset;
    range.object = rep.object_id;
    if ((rep.flags & proto::kViewRevive) != 0) {  // a range we still hold: mprotect it back
        if (window.revive(range)) {
            address = reinterpret_cast<LPVOID>(static_cast<uintptr_t>(rep.address));
            return MapOutcome::mapped;
        }
        undo_view(kernel, rep.address);
        return MapOutcome::revive_lost;
    }
    if (rep.kernel_fd >= 0) {
        const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
        if (fd >= 0) window.keep_fd(rep.object_id, fd);
    }
    const int fd = window.kept_fd(rep.object_id);
    if (fd < 0 || !window.map(range, fd)) {
        const int err = fd < 0 ? EBADF : errno;
        if (kernel.kernel_gone()) {
            set_last_error(ERROR_SERVICE_NOT_ACTIVE);
            return MapOutcome::failed;
        }
        undo_view(kernel, rep.address);
        log().error("cannot map view base={:#x} len={:#x}: {}", rep.map_base, rep.map_length,
                     std::strerror(err));
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return MapOutcome::failed;
    }
    address = reinterpret_cast<LPVOID>(static_cast<uintptr_t>(rep.address));
    return MapOutcome::mapped;
}

MapOutcome map_view(HANDLE hFileMappingObject, DWORD dwDesiredAccess, DWORD dwFileOffsetHigh,
                    DWORD dwFileOffsetLow, SIZE_T dwNumberOfBytesToMap, LPVOID& address) {
    Window& window = Window::instance();
    Connection& kernel = Connection::instance();
    proto::MapViewRequest req{handle_to_wire(hFileMappingObject), dwDesiredAccess,
                              dwFileOffsetHigh, dwFileOffsetLow, dwNumberOfBytesToMap};
    proto::MapViewReply rep{};
    // Connect before taking the window lock: connecting adopts the kernel's window.
    if (!kernel.ensure_connected()) return finish(CallStatus{}), MapOutcome::failed;
    DeferredLock guard(window.lock());
    // The ranges we could map again by ourselves: for one of those the kernel sends no
    // descriptor (kViewRevive). The lock keeps the list as it is until the view is mapped.
    proto::LingeringRange lingering[Window::kLingerRanges]{};
    for (const Window::Range& r : window.lingering()) {
        if (req.lingering == Window::kLingerRanges) break;
        const uint32_t flags = (r.writable ? proto::kViewWritable : 0u) |
                               (r.file_backed ? proto::kViewFileBacked : 0u) |
                               (r.own ? proto::kViewOwnRange : 0u) |
                               (r.pages_own ? proto::kViewPagesOwn : 0u);
        lingering[req.lingering++] = {r.base,  r.length, r.dev, r.ino, flags,
                                      0,       r.file_offset, r.object};
    }
    if (!finish(kernel.call(req, rep, std::as_bytes(std::span(lingering, req.lingering)))))
        return MapOutcome::failed;
    Window::Range range{rep.map_base, rep.map_length, (rep.flags & proto::kViewWritable) != 0,
                        (rep.flags & proto::kViewFileBacked) != 0, rep.dev, rep.ino};
    range.pages_own = (rep.flags & proto::kViewPagesOwn) != 0;
    if ((rep.flags & proto::kViewReused) != 0) {  // CE 6: a view we have (ERROR_ALREADY_EXISTS)
        address = reinterpret_cast<LPVOID>(static_cast<uintptr_t>(rep.address));
        return MapOutcome::mapped;
    }
    if ((rep.flags & proto::kViewOwnRange) != 0)
        return map_own_range(window, kernel, rep, range, address);
    if (rep.kernel_fd >= 0) {
        // First view of this mapping here: revive our lingering range, or map the mapping's
        // whole range from the descriptor the kernel sent before the reply.
        bool mapped = false;
        int err = 0;
        if ((rep.flags & proto::kViewRevive) != 0) {
            mapped = window.revive(range);
            err = errno;
        } else {
            int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
            mapped = fd >= 0 && window.map(range, fd);
            err = errno;
            if (fd >= 0) ::close(fd);
        }
        if (!mapped && kernel.kernel_gone()) {
            set_last_error(ERROR_SERVICE_NOT_ACTIVE);  // it died after its reply: views with it
            return MapOutcome::failed;
        }
        if (!mapped) {
            undo_view(kernel, rep.address);
            // A lingering range named in the request was shot down meanwhile (window_fault.cpp):
            // asked again, the kernel sends the descriptor.
            if ((rep.flags & proto::kViewRevive) != 0) return MapOutcome::revive_lost;
            log().error("cannot map view base={:#x} len={:#x}: {}", rep.map_base,
                         rep.map_length, std::strerror(err));
            set_last_error(ERROR_NOT_ENOUGH_MEMORY);
            return MapOutcome::failed;
        }
    }
    // CE 6's RAM-backed view: its pages open now, merged with our other views over them.
    if (range.pages_own &&
        !window.add_view_pages(rep.address, rep.view_length, (rep.flags & proto::kViewWrites) != 0)) {
        const int err = errno;
        undo_view(kernel, rep.address);
        if (rep.kernel_fd >= 0 || (rep.flags & proto::kViewRevive) != 0)
            window.release(rep.map_base, rep.map_length);  // the view we just mapped was the first
        log().error("cannot open the view's pages at {:#x}: {}", rep.address, std::strerror(err));
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return MapOutcome::failed;
    }
    address = reinterpret_cast<LPVOID>(static_cast<uintptr_t>(rep.address));
    return MapOutcome::mapped;
}

// Writes [address, address + length) of a file view back to its file and waits, for the whole
// pages it touches. A CE 6 view writes its dirty pages (sync_file_range on the file's range), as
// CE 6 writes a view's pages, and costs nothing when none is dirty; a CE 5 view is msynced,
// CE 5's flush followed by FlushFileBuffers. The caller holds the window lock, so the range
// stays mapped meanwhile.
bool write_back(uint64_t address, uint64_t length) {
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t start = address & ~(page - 1);
    const uint64_t bytes = address + length - start;
    Window& window = Window::instance();
    Window::Range range;
    const int fd = window.mapped_here(start, range) && range.own ? window.kept_fd(range.object)
                                                                  : -1;
    if (fd >= 0) {
        const auto at = static_cast<off_t>(range.file_offset + (start - range.base));
        constexpr unsigned kWriteAndWait =
            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
        return ::sync_file_range(fd, at, static_cast<off_t>(bytes), kWriteAndWait) == 0;
    }
    return ::msync(reinterpret_cast<void*>(start), bytes, MS_SYNC) == 0;
}

}  // namespace

extern "C" {

HANDLE WINAPI CreateFileMappingW(HANDLE hFile, LPSECURITY_ATTRIBUTES /*ignored in CE 5*/,
                                 DWORD flProtect, DWORD dwMaximumSizeHigh,
                                 DWORD dwMaximumSizeLow, LPCWSTR lpName) {
    proto::CreateMappingRequest req{};
    req.file = handle_to_wire(hFile);
    req.protect = flProtect;
    req.size_high = dwMaximumSizeHigh;
    req.size_low = dwMaximumSizeLow;
    auto extra = name_bytes(lpName, req);
    proto::CreateMappingReply rep{};
    if (!finish(Connection::instance().call(req, rep, extra))) return nullptr;
    return handle_from_wire(rep.handle);
}

LPVOID WINAPI MapViewOfFile(HANDLE hFileMappingObject, DWORD dwDesiredAccess,
                            DWORD dwFileOffsetHigh, DWORD dwFileOffsetLow,
                            SIZE_T dwNumberOfBytesToMap) {
    LPVOID address = nullptr;
    MapOutcome outcome = MapOutcome::revive_lost;
    for (int attempt = 0; attempt < 2 && outcome == MapOutcome::revive_lost; ++attempt)
        outcome = map_view(hFileMappingObject, dwDesiredAccess, dwFileOffsetHigh, dwFileOffsetLow,
                           dwNumberOfBytesToMap, address);
    if (outcome == MapOutcome::revive_lost) set_last_error(ERROR_NOT_ENOUGH_MEMORY);
    return outcome == MapOutcome::mapped ? address : nullptr;
}

BOOL WINAPI UnmapViewOfFile(LPCVOID lpBaseAddress) {
    Window& window = Window::instance();
    proto::UnmapViewRequest req{reinterpret_cast<uintptr_t>(lpBaseAddress)};
    proto::UnmapViewReply rep{};
    if (!Connection::instance().ensure_connected()) return finish(CallStatus{}), FALSE;
    DeferredLock guard(window.lock());
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    // CE 6 writes the view back first; it is unmapped even when that fails, and the call then
    // reports the failure.
    const bool written = rep.flush_length == 0 || write_back(rep.flush_base, rep.flush_length);
    // A CE 6 RAM view's pages close again but for our other views over them; the last view's
    // range goes whole below, which closes them all.
    if ((rep.view_flags & proto::kViewPagesOwn) != 0 && rep.release_length == 0)
        window.drop_view_pages(req.address, rep.view_length,
                               (rep.view_flags & proto::kViewWrites) != 0);
    if (rep.release_length != 0) window.release(rep.release_base, rep.release_length);
    if (rep.forget_object != 0) window.forget_fd(rep.forget_object);
    if (!written) {
        set_last_error(ERROR_WRITE_FAULT);
        return FALSE;
    }
    return TRUE;
}

BOOL WINAPI FlushViewOfFile(LPCVOID lpBaseAddress, SIZE_T dwNumberOfBytesToFlush) {
    auto address = reinterpret_cast<uintptr_t>(lpBaseAddress);
    if (ce6_rules()) {
        // CE 6: only the caller's own views, which the kernel knows; the caller writes back the
        // range the kernel names (to the end of the view when the count is 0).
        proto::FlushViewRequest req{address, dwNumberOfBytesToFlush};
        proto::FlushViewReply rep{};
        DeferredLock guard(Window::instance().lock());
        if (!finish(Connection::instance().call(req, rep))) return FALSE;
        if (rep.length != 0 && !write_back(rep.base, rep.length)) {
            set_last_error(ERROR_WRITE_FAULT);
            return FALSE;
        }
        return TRUE;
    }
    {
        // A mapping mapped here is flushed here: RAM-backed pages have no backing store, and a
        // file's pages are the page cache's, written back and waited for with msync.
        Window& window = Window::instance();
        DeferredLock guard(window.lock());
        Window::Range range;
        if (window.mapped_here(address, range)) {
            if (!range.file_backed || !range.writable) return TRUE;
            uint64_t end = dwNumberOfBytesToFlush == 0 || dwNumberOfBytesToFlush > range.base + range.length - address
                               ? range.base + range.length
                               : address + dwNumberOfBytesToFlush;
            if (!write_back(address, end - address)) {
                set_last_error(ERROR_WRITE_FAULT);
                return FALSE;
            }
            return TRUE;
        }
    }
    proto::FlushViewRequest req{address, dwNumberOfBytesToFlush};
    proto::FlushViewReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

}  // extern "C"
