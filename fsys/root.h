// Root: the CE object store rooted in a host directory. Resolves CE paths case-insensitively
// beneath the root (never above it, never through a symlink) and implements the file
// operations the kernel's file APIs need. No handles, sharing or file pointers here: the kernel
// keeps those and gets host descriptors and facts from us. Single-threaded, like the daemon.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fsys/attributes.h"
#include "fsys/dir_fds.h"
#include "fsys/dir_cache.h"
#include "fsys/path.h"
#include "fsys/unique_fd.h"
#include "common/result.h"

namespace cek::fsys {

struct RootOptions {
    bool force_sidecar = false;  // use the sidecar attribute store even where xattrs work
    DirCache::Limits cache_limits{};
    // Watch the cached directories for changes (DirWatch) where the file system allows, so that
    // unchanged ones need no statx per lookup. Off: a statx every time (tests compare the two).
    bool watch_directories = true;
};

// CreateFile's dwCreationDisposition values.
enum class Disposition : uint32_t {
    create_new = 1,
    create_always = 2,
    open_existing = 3,
    open_always = 4,
    truncate_existing = 5,
};

// A file's identity on the host: equal ids mean the same file, whatever the path.
struct FileId {
    uint64_t dev = 0;
    uint64_t ino = 0;
    bool operator==(const FileId&) const = default;
};

struct OpenRequest {
    bool read = false;
    bool write = false;
    uint32_t disposition = static_cast<uint32_t>(Disposition::open_existing);  // raw, 1..5
    uint32_t attributes = 0;       // FILE_ATTRIBUTE_* for a file this call creates or replaces
    bool allow_directory = false;  // an existing directory opens instead of ACCESS_DENIED
    // FILE_FLAG_WRITE_THROUGH: a regular file opened for write gets O_DSYNC on its description,
    // so every process's writes through it are synchronous.
    bool write_through = false;
};

struct OpenedFile {
    // O_CLOEXEC; O_RDWR when write was asked (the kernel enforces the handle's rights, and
    // mappings need a readable fd), else O_RDONLY, so access 0 still allows fstat/fgetxattr.
    UniqueFd fd;
    bool existed = false;       // for ERROR_ALREADY_EXISTS on CREATE_ALWAYS / OPEN_ALWAYS
    bool is_directory = false;
    FileId id;
    std::u16string ce_path;     // canonical, in the case found on disk ("\Temp\a.txt")
    // The description still has O_NONBLOCK, with which it was opened so that a FIFO the host
    // swapped in could not block the open. It changes nothing for a regular file or directory
    // here; drop_nonblocking(fd) clears it before the descriptor is handed to anyone else, so
    // that it carries no flag of ours (one fcntl saved on opens that never get that far).
    bool nonblocking = false;
};

// FILETIMEs: 100 ns units since 1601-01-01 UTC.
struct FileTimes {
    uint64_t creation = 0;  // statx birth time; the last write time where the host has none
    uint64_t last_access = 0;
    uint64_t last_write = 0;
};

struct FileInfo {
    uint32_t attributes = 0;
    uint64_t size = 0;
    uint64_t links = 0;
    FileTimes times;
    FileId id;
};

struct FindEntry {
    std::u16string name;  // real case
    uint32_t attributes = 0;
    uint64_t size = 0;
    FileTimes times;
};

// Where a FindFirstFileW search stands: its folder, its pattern and the last name it looked at.
// Small and independent of the folder's size: the entries come from the folder's cached listing
// a few at a time (Root::find_more).
struct FindCursor {
    std::vector<std::u16string> dir;  // the folder's components as the caller wrote them
    std::u16string pattern;           // the last component: folded when it has wildcards
    bool wildcards = false;           // else `pattern` names one entry, listed once
    bool started = false;             // `last_*` hold the last name looked at
    bool done = false;
    std::u16string last_folded;
    std::string last_host;

    size_t memory_bytes() const;
};

class Root {
public:
    // Opens (creating with parents if missing, the last one mode 0700) the host directory and
    // adds CE's \Windows, \My Documents, \Program Files and \Temp where no folder of that name
    // exists in any case. Fails with ERROR_NOT_SUPPORTED on kernels without openat2.
    static Result<std::unique_ptr<Root>> open(const std::filesystem::path& host_dir,
                                              RootOptions options = {});
    ~Root();
    Root(const Root&) = delete;
    Root& operator=(const Root&) = delete;

    AttributeBackend attribute_backend() const { return attrs_.backend(); }
    const DirCache::Stats& cache_stats() const { return cache_.stats(); }
    const DirFds::Stats& dir_fd_stats() const { return dir_fds_.stats(); }
    bool watching_directories() const { return dir_fds_.watching(); }

    // CreateFileW / CreateFileForMappingW. Errors: disposition outside 1..5, or
    // TRUNCATE_EXISTING without write -> INVALID_PARAMETER; missing leaf -> FILE_NOT_FOUND;
    // missing directory -> PATH_NOT_FOUND; CREATE_NEW on an existing file -> FILE_EXISTS;
    // directory without allow_directory, READONLY file with write or truncation, symlink or
    // special file -> ACCESS_DENIED.
    Result<OpenedFile> open_file(std::u16string_view path, const OpenRequest& request);

    // GetFileAttributesW / SetFileAttributesW. Setting ignores DIRECTORY, NORMAL and unknown
    // bits; the root cannot be changed (ACCESS_DENIED).
    Result<uint32_t> get_attributes(std::u16string_view path);
    Result<void> set_attributes(std::u16string_view path, uint32_t attributes);
    // The same for a descriptor from open_file.
    Result<uint32_t> get_attributes(int fd);
    Result<void> set_attributes(int fd, uint32_t attributes);
    Result<FileInfo> query(int fd);
    // GetFileAttributesExW: what query() tells of the file or directory at `path`, found by a
    // lookup (no open of the whole path). Special files are ACCESS_DENIED, as for an open.
    Result<FileInfo> path_info(std::u16string_view path);

    // GetFileTime / SetFileTime by descriptor; nullopt leaves a time unchanged. The host cannot
    // set a birth time, so a creation time is accepted and ignored.
    Result<FileTimes> get_times(int fd);
    Result<void> set_times(int fd, std::optional<uint64_t> creation,
                           std::optional<uint64_t> last_access,
                           std::optional<uint64_t> last_write);

    // DeleteFileW: a directory or a READONLY file -> ACCESS_DENIED.
    Result<void> delete_file(std::u16string_view path);
    // MoveFileW: files and directories, across directories; never replaces (ALREADY_EXISTS),
    // except that a case-only rename of the same entry works. READONLY files may move.
    Result<void> move_file(std::u16string_view from, std::u16string_view to);
    // CopyFileW: a directory source -> ACCESS_DENIED; existing target and fail_if_exists ->
    // FILE_EXISTS; READONLY or directory target -> ACCESS_DENIED. Copies data, attributes and
    // the last write time into a hidden temporary that is then renamed into place.
    Result<void> copy_file(std::u16string_view from, std::u16string_view to, bool fail_if_exists);
    // CreateDirectoryW: exists (any case, file or directory) -> ALREADY_EXISTS.
    Result<void> create_directory(std::u16string_view path);
    // RemoveDirectoryW: not empty -> DIR_NOT_EMPTY; a file -> DIRECTORY; the root, \Windows,
    // a root folder carrying TEMPORARY (a CE mount folder) or a READONLY one -> ACCESS_DENIED.
    Result<void> remove_directory(std::u16string_view path);

    // FindFirstFileW's matches, sorted by folded name (then by host bytes), without "." and
    // "..", symlinks, special files and names CE cannot address, read as the search advances:
    // find_start checks the pattern and the folder (missing -> PATH_NOT_FOUND; the root itself
    // -> FILE_NOT_FOUND), each find_more appends at most `max` further matches to `out` and
    // returns how many (0: the search is over). A folder that goes away mid-search ends it.
    Result<FindCursor> find_start(std::u16string_view pattern);
    Result<size_t> find_more(FindCursor& cursor, std::vector<FindEntry>& out, size_t max);
    // All matches at once (tests, tools). No match -> FILE_NOT_FOUND.
    Result<std::vector<FindEntry>> find_files(std::u16string_view pattern);

    // CopyFileW in steps, so that a large copy need not hold up its caller's neighbours:
    // copy_begin does every check copy_file does and opens the source and a hidden temporary
    // beside the target; CopyJob::step copies the data a budget at a time (it may run on
    // another thread); copy_finish sets the times and attributes and renames the temporary into
    // place. Destroying a job before it finished removes the temporary, so nothing of an
    // abandoned copy stays in the store.
    class CopyJob;
    Result<std::unique_ptr<CopyJob>> copy_begin(std::u16string_view from, std::u16string_view to,
                                                bool fail_if_exists);
    Result<void> copy_finish(CopyJob& job);

private:
    // Defined in root_internal.h and root_open.cpp.
    struct Walk;
    struct Child;
    struct Lookup;
    struct Transfer;
    struct OpenTarget;
    struct OpenedLeaf;

    Root(UniqueFd root_fd, const HostStat& root_st, AttributeStore attrs, RootOptions options);

    // `exact_missing`: the caller already knows the name as spelled is not there (skips that
    // statx); the directory's listing still finds other spellings.
    // `dir_now`: the directory's statx, read just now (else find_child reads it if it must).
    // `host`: `name` in UTF-8, as the caller converted it.
    Result<Child> find_child(int dirfd, std::u16string_view name, const std::string& host,
                             bool is_leaf, bool exact_missing = false,
                             const HostStat* dir_now = nullptr);
    Result<Walk> walk_dirs(const CePath& path, size_t count);
    // walk_dirs's fast path for the first kCachedDepth levels (dir_fds_); false when a level is
    // not a directory as spelled (the component walk then looks). `watched`: what
    // dir_fds_.begin_walk() returned, called by the caller just before. `cached_only`: false
    // also when a level is not in the cache, or not watched (DirFds::open).
    bool walk_cached(const CePath& path, size_t count, Walk& w, bool watched,
                     bool cached_only = false);
    static constexpr size_t kCachedDepth = 2;
    // find_more's work for a name without wildcards, and for a pattern.
    Result<size_t> find_named(FindCursor& cursor, std::vector<FindEntry>& out);
    Result<size_t> find_matching(FindCursor& cursor, std::vector<FindEntry>& out, size_t max);
    // `exact_missing`: exact_regular_file found nothing at the whole path as spelled.
    Result<Lookup> lookup(const CePath& path, bool exact_missing = false);
    // lookup's second half: the leaf of `path` (not the root) in `parent`, its walked directory.
    Result<Lookup> lookup_leaf(const CePath& path, Walk parent, bool exact_missing);
    // `path` when it exists (else FILE_NOT_FOUND); the root is ACCESS_DENIED unless root_ok.
    Result<Lookup> lookup_existing(const CePath& path, bool root_ok);
    // MoveFile's and CopyFile's shared start: neither path is the root, the source exists and
    // is a regular file (or a directory, when `directories`), the target is not fsys's own.
    Result<Transfer> lookup_transfer(std::u16string_view from, std::u16string_view to,
                                     bool directories);
    // The host path of `path` relative to the root when it names an existing regular file in
    // its exact case (its statx in `st`); nullopt otherwise (the caller then walks).
    // `exact_missing` is set when nothing is there as spelled (ENOENT).
    std::optional<std::string> exact_regular_file(const CePath& path, HostStat& st,
                                                  bool& exact_missing);
    // open_file's steps (root_open.cpp).
    Result<OpenedFile> open_parsed(const CePath& path, const OpenRequest& request, bool fast);
    Result<OpenTarget> locate_for_open(const CePath& path, const OpenRequest& request, bool fast);
    Result<bool> locate_watched(const CePath& path, OpenTarget& t);
    Result<OpenedLeaf> open_existing(const OpenTarget& target, const OpenRequest& request);
    Result<OpenedLeaf> create_leaf(Lookup& l, const OpenRequest& request);
    // ACCESS_DENIED if the opened file `fd` (its fstat in `st`) is READONLY.
    Result<void> refuse_readonly(int fd, const HostStat& st, const std::string& name);
    Result<OpenedFile> finish_open(const CePath& path, const Lookup& l, OpenedLeaf leaf);
    // `path` as found: "\Temp\a.txt" in the case its directories and leaf have on disk.
    static std::u16string real_path(const CePath& path, const Lookup& l);
    Result<uint32_t> attributes_of(int parent, const std::string& name, const HostStat& st);
    Result<FindEntry> make_entry(int dirfd, const std::string& host, std::u16string name,
                                 const HostStat& st);
    Result<void> create_default_folders();
    Result<const HostStat*> dir_stat(Walk& w);
    // Around each change fsys makes to directory w: its stat just before (nullopt when it cannot
    // be read), then, after the change, the names that left and appeared ("" for none), which
    // update its cached listing in place (or drop it).
    std::optional<HostStat> before_change(const Walk& w);
    void changed(Walk& w, const std::optional<HostStat>& before, std::string_view removed,
                 std::string_view added);

    UniqueFd root_fd_;  // O_PATH | O_DIRECTORY
    HostStat root_st_;
    AttributeStore attrs_;
    DirCache cache_;
    DirFds dir_fds_;
    uint64_t temp_counter_ = 0;
};

class Root::CopyJob {
public:
    ~CopyJob();
    CopyJob(const CopyJob&) = delete;
    CopyJob& operator=(const CopyJob&) = delete;

    uint64_t size() const;  // bytes to copy (the source's length at the start)
    // The identities of the source and the temporary: the kernel registers the copy as an open
    // of both names while it runs.
    FileId source_id() const;
    FileId temp_id() const;

    // Copies at most `budget` bytes of data (holes are free); true once the data is complete,
    // when it has also started the temporary's write-back, so that the rename in copy_finish
    // (which flushes a replacing file on ext4) finds nothing left to write. It touches only the
    // job's descriptors and position: one thread may step a job while another uses the Root,
    // but never two at once, and nobody else uses the job meanwhile, except abandon().
    Result<bool> step(uint64_t budget);
    // Removes the temporary now (the job's end would): for a copy whose caller died while
    // another thread may still be writing into the (then nameless) file.
    void abandon();
    // After copy_finish replaced an existing file: a descriptor that keeps the replaced file
    // alive, so that whoever closes it pays for releasing its pages and blocks (a close that can
    // wait for write-back), not the rename. Empty otherwise.
    UniqueFd take_replaced();

private:
    friend class Root;
    struct State;
    explicit CopyJob(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

}  // namespace cek::fsys
