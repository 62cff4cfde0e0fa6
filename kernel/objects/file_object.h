// FileObject: one open of a file in the CE object store (CreateFileW, CreateFileForMappingW).
//
// It owns the host descriptor, whose open file description carries the one file pointer every
// process using the handle shares (clients receive a duplicate on their socket and read/write it
// directly). Access is what the handle was granted; share is what it allows others. Sharing is
// checked per file across all processes by OpenFiles. A mapping that takes the file over keeps
// a reference; the file closes when its handle entry and every mapping are gone.
#pragma once

#include <cstdint>
#include <string>

#include "fsys/root.h"
#include "kernel/core/object.h"

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

    int fd() const { return fd_.get(); }
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

    void describe(ObjectDetails& out) const override;

private:
    fsys::UniqueFd fd_;
    FileAccess access_;
    uint32_t share_;
    uint32_t flags_;
    bool is_directory_;
    bool for_mapping_ = false;
    fsys::FileId id_;
    std::u16string ce_path_;
    std::u16string key_;
    OpenFiles& registry_;
    uint64_t mapped_by_ = 0;
    uint64_t mapped_length_ = 0;
};

}  // namespace cek::kernel
