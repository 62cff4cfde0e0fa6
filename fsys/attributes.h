// FILE_ATTRIBUTE_* storage: the user.DOSATTRIB xattr in Wine's "0x<hex>" form, or a sidecar
// file in the store root where the host file system has no user xattrs (ENOTSUP at probe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fsys/host.h"
#include "fsys/unique_fd.h"
#include "common/result.h"

namespace cek::fsys {

inline constexpr uint32_t kAttrReadonly = 0x1;
inline constexpr uint32_t kAttrHidden = 0x2;
inline constexpr uint32_t kAttrSystem = 0x4;
inline constexpr uint32_t kAttrDirectory = 0x10;
inline constexpr uint32_t kAttrArchive = 0x20;
inline constexpr uint32_t kAttrInRom = 0x40;  // CE ROM files; never set on host files
inline constexpr uint32_t kAttrNormal = 0x80;
inline constexpr uint32_t kAttrTemporary = 0x100;
inline constexpr uint32_t kAttrCompressed = 0x800;

// The bits kept per file. DIRECTORY comes from the file type, NORMAL means "none of these",
// INROM is never stored; other bits given to set() are ignored, as SetFileAttributes does.
inline constexpr uint32_t kStoredMask =
    kAttrReadonly | kAttrHidden | kAttrSystem | kAttrArchive | kAttrTemporary | kAttrCompressed;

// The store's name in the root directory (reserved, see host.h) for the sidecar backend.
inline constexpr const char* kSidecarName = ".cek~attrs";

enum class AttributeBackend { xattr, sidecar };

// "0x21" <-> 0x21. Parsing stops at a NUL (Samba appends a binary blob after one) and accepts
// upper- or lower-case hex; nullopt when the value does not start with "0x" and a digit.
std::optional<uint32_t> parse_dosattrib(std::string_view value);
std::string format_dosattrib(uint32_t attrs);

// What CE reports for a file whose stored bits are `stored` (nullopt: nothing stored, which
// means ARCHIVE for a file and nothing for a directory). READONLY is also reported for a
// regular file whose owner write bit is clear; DIRECTORY for directories; NORMAL alone when no
// other bit is set.
uint32_t report_attributes(std::optional<uint32_t> stored, const HostStat& st);

class AttributeStore {
public:
    // Probes user xattr support on the root directory; ENOTSUP (or `force_sidecar`) selects
    // the sidecar, which is then loaded from the root.
    static Result<AttributeStore> open(int root_fd, bool force_sidecar);

    AttributeBackend backend() const { return backend_; }

    // Attributes of the open file or directory `fd` (not O_PATH), whose stat is `st`.
    Result<uint32_t> get(int fd, const HostStat& st);

    // Stores `attrs & kStoredMask` with one atomic update (one setxattr, or a sidecar rewrite by
    // rename), and mirrors READONLY into the owner/group/other write bits of a regular file:
    // set before dropping write bits, and after restoring the owner's when clearing.
    Result<void> set(int fd, const HostStat& st, uint32_t attrs);

    // `st` is being removed (a directory, or a file's last link): drop its sidecar record.
    // No-op for xattrs, which go with the inode.
    void forget(const HostStat& st);

private:
    struct Record {
        std::optional<int64_t> btime_ns;  // detects inode reuse when the host reports btime
        uint32_t attrs = 0;
    };

    Result<std::optional<uint32_t>> load(int fd, const HostStat& st);
    Result<void> store(int fd, const HostStat& st, uint32_t stored);
    Result<void> save_sidecar();
    void load_sidecar();

    AttributeBackend backend_ = AttributeBackend::xattr;
    UniqueFd root_;                                   // O_PATH, for the sidecar file
    std::unordered_map<uint64_t, Record> sidecar_;    // inode -> record
};

}  // namespace cek::fsys
