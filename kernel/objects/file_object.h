// FileObject: one open of a file in the CE object store (CreateFileW, CreateFileForMappingW).
//
// It owns the host descriptor, whose open file description carries the one file pointer every
// process using the handle shares (clients receive a duplicate on their socket and read/write it
// directly). Access is what the handle was granted; share is what it allows others. Sharing is
// checked per file across all processes by OpenFiles. A mapping that takes the file over keeps
// a reference; the file closes when its handle entry and every mapping are gone.
//
// While one process alone uses the file, that process keeps the position in its table of
// positions instead (docs/decisions/0015-file-position.md); the first use by a second process
// moves it into the description for good.
#pragma once

#include <cstdint>
#include <string>

#include "fsys/root.h"
#include "kernel/core/ids.h"
#include "kernel/core/object.h"
#include "kernel/core/position_table.h"

namespace cek::kernel {

class OpenFiles;

struct FileAccess {
    bool read = false;
    bool write = false;
};

class FileObject final : public KernelObject {
public:
    static constexpr ObjectType kType = ObjectType::File;

    // Registers itself in `registry` under `key` (the folded canonical CE path).
    FileObject(fsys::OpenedFile opened, FileAccess access, uint32_t share, uint32_t flags,
               std::u16string key, OpenFiles& registry);
    ~FileObject() override;

    // The descriptor, for the kernel's own calls on it.
    int fd() const { return fd_.get(); }
    // The same, for handing to a client: fsys opens with O_NONBLOCK, which is dropped here the
    // first time, so that the description clients share carries no flag of ours.
    int shared_fd();
    FileAccess access() const { return access_; }
    uint32_t share() const { return share_; }
    uint32_t flags() const { return flags_; }
    bool is_directory() const { return is_directory_; }
    bool for_mapping() const { return for_mapping_; }
    void set_for_mapping() { for_mapping_ = true; }
    const std::u16string& key() const { return key_; }
    const std::u16string& ce_path() const { return ce_path_; }
    fsys::FileId file_id() const { return id_; }

    // The mapping that took this file over (CE 5 CreateFileForMapping), or 0.
    uint64_t mapped_by() const { return mapped_by_; }
    uint64_t mapped_length() const { return mapped_length_; }
    void set_mapped(uint64_t mapping_id, uint64_t length) {
        mapped_by_ = mapping_id;
        mapped_length_ = length;
    }

    // Where `caller` finds the position, at its descriptor call: a slot in `table` (its own
    // table; null when it has none, does not keep positions or the handle is the kernel's)
    // while no other process used the file, else nullopt: the description's. A call from a
    // second process, or without a table, moves a kept position into the description first.
    std::optional<PositionTable::Slot> position_for(ProcessId caller,
                                                    const Ref<PositionTable>& table);
    // The position as `caller` sees it, before the kernel acts at it (SetEndOfFile): the
    // caller's own claim when it keeps the position, else the description's (moved there
    // first when another process kept it). nullopt: neither can be read.
    std::optional<uint64_t> position_of(ProcessId caller);

    void describe(ObjectDetails& out) const override;

private:
    void share_position();

    fsys::UniqueFd fd_;
    FileAccess access_;
    uint32_t share_;
    uint32_t flags_;
    bool is_directory_;
    bool nonblocking_;  // O_NONBLOCK still set (dropped at the first shared_fd())
    bool handed_out_ = false;  // shared_fd() was asked: clients may hold the description
    bool for_mapping_ = false;
    fsys::FileId id_;
    std::u16string ce_path_;
    std::u16string key_;
    OpenFiles& registry_;
    uint64_t mapped_by_ = 0;
    uint64_t mapped_length_ = 0;
    // The slot of the one process that keeps the position, kept (marked shared) until the file
    // closes once the position moved into the description.
    Ref<PositionTable> position_table_;
    PositionTable::Slot position_slot_{};
    ProcessId position_owner_{};
    bool position_shared_ = false;  // the description holds it, for good
};

}  // namespace cek::kernel
