// MappingObject: a CE file-mapping object (CreateFileMappingW).
//
// Backing: RAM ("page file": a sealed memfd the kernel creates) or, later, a file object.
// The mapping reserves one range of the shared window at creation; every view, in every
// process, is base + offset inside it (CE 5). Its size never changes after creation.
// Protection is per mapping (CE 5): every view of a read-write mapping is writable.
// Lifetime: references from its handle entry and from each view; the destructor returns the
// window range and closes the backing descriptor.
#pragma once

#include <cstdint>

#include "kernel/core/address_window.h"
#include "kernel/core/object.h"
#include "protocol/result.h"

namespace cek::kernel {

class MappingObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::Mapping;

    // A zero-filled RAM-backed mapping of `size` bytes placed in `window`.
    // ERROR_NOT_ENOUGH_MEMORY when the window or the host has no room.
    static Result<Ref<MappingObject>> create_ram(uint64_t size, bool writable,
                                                 AddressWindow& window);
    ~MappingObject() override;

    uint64_t size() const { return size_; }
    bool writable() const { return writable_; }
    bool ram_backed() const { return true; }
    uint64_t base() const { return base_; }
    uint64_t map_length() const;  // size rounded up to whole pages
    int fd() const { return fd_; }
    uint64_t dev() const { return dev_; }
    uint64_t ino() const { return ino_; }

    uint32_t view_count() const { return views_; }
    void view_added() { ++views_; }
    void view_removed() { --views_; }

    // Writes dirty pages in [offset, offset + length) to the backing store; a no-op for RAM.
    Result<void> flush(uint64_t offset, uint64_t length);

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    MappingObject(uint64_t size, bool writable, AddressWindow& window);

    uint64_t size_;
    bool writable_;
    AddressWindow& window_;
    uint64_t base_ = 0;
    int fd_ = -1;
    uint64_t dev_ = 0;
    uint64_t ino_ = 0;
    uint32_t views_ = 0;
};

}  // namespace cek::kernel
