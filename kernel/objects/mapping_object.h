// MappingObject: a CE file-mapping object (CreateFileMappingW).
//
// Backing: RAM ("page file": a sealed memfd the kernel creates) or a file object, whose
// descriptor clients map MAP_SHARED, so views, ReadFile/WriteFile and the disk agree.
// The mapping reserves one range of the shared window at creation; every view, in every
// process, is base + offset inside it (CE 5). Its size never changes after creation.
// Protection is per mapping (CE 5): every view of a read-write mapping is writable. A CE 6 file
// mapping reserves no range: each of its views gets one of its own (Kernel::map_view_ce6).
// Lifetime: references from its handle entry and from each view; the destructor returns the
// window range (retired until processes that touched it by address let go, CE 5's global view)
// and closes the backing descriptor.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernel/core/address_window.h"
#include "kernel/core/object.h"
#include "kernel/objects/file_object.h"
#include "common/result.h"

namespace cek::kernel {

class MappingObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Mapping;

    // A zero-filled RAM-backed mapping of `size` bytes placed in `window`.
    // ERROR_NOT_ENOUGH_MEMORY when the window or the host has no room.
    static Result<Ref<MappingObject>> create_ram(uint64_t size, bool writable,
                                                 AddressWindow& window);
    // A mapping of the first `size` bytes of `file` (already at least that long), with a range
    // of `window` when `in_window` (CE 5), or none (CE 6: its views have their own).
    static Result<Ref<MappingObject>> create_file(Ref<FileObject> file, uint64_t size,
                                                  bool writable, AddressWindow& window,
                                                  bool in_window = true);
    ~MappingObject() override;

    // Runs once, when the last reference goes (CE 5 FreeMap: close the taken-over file handle).
    void on_destroy(std::function<void()> hook) { on_destroy_ = std::move(hook); }

    uint64_t size() const { return size_; }
    bool writable() const { return writable_; }
    bool ram_backed() const { return !file_; }
    FileObject* file() const { return file_.get(); }
    uint64_t base() const { return base_; }  // 0: no range of the window (CE 6 file mapping)
    uint64_t map_length() const;  // size rounded up to whole pages
    // The descriptor a client maps (the file's, or the RAM memfd).
    int shared_fd() { return file_ ? file_->shared_fd() : fd_; }
    uint64_t dev() const { return dev_; }
    uint64_t ino() const { return ino_; }

    void view_added() { ++views_; }
    void view_removed() { --views_; }
    uint32_t view_count() const { return views_; }

    // CE 5's global view: processes that mapped the range by touching its address. They do not
    // keep the mapping alive; they keep its range from being reused until they let go of it.
    void touched_by(ProcessId process);
    void forget_toucher(ProcessId process);
    size_t toucher_count() const { return touchers_.size(); }

    // Writes dirty pages in [offset, offset + length) to the disk and waits (CE 5 flushes, then
    // FlushFileBuffers); a no-op for RAM and read-only mappings.
    Result<void> flush(uint64_t offset, uint64_t length);
    // Starts writing [offset, offset + length) of a writable file mapping to the disk and does
    // not wait (CE 6 writes a view back when its process ends).
    void start_write_back(uint64_t offset, uint64_t length);

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    MappingObject(uint64_t size, bool writable, AddressWindow& window);
    Result<void> place(bool in_window);

    uint64_t size_;
    bool writable_;
    AddressWindow& window_;
    uint64_t base_ = 0;
    int fd_ = -1;  // RAM-backed: the memfd
    Ref<FileObject> file_;
    std::function<void()> on_destroy_;
    uint64_t dev_ = 0;
    uint64_t ino_ = 0;
    uint32_t views_ = 0;
    std::vector<ProcessId> touchers_;
};

}  // namespace cek::kernel
