#include "fsys/root.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fsys/errno_map.h"
#include "fsys/filetime.h"
#include "fsys/fold.h"
#include "fsys/log.h"
#include "fsys/pattern.h"

namespace cek::fsys {

// The directories above a leaf, opened O_PATH one component at a time.
struct Root::Walk {
    UniqueFd owner;  // empty when the walk ended at the root itself
    int fd = -1;
    HostStat st;         // valid only when st_known (the fast path skips it); see dir_stat
    bool st_known = true;
    std::vector<std::u16string> real;  // canonical components, real case
};

// One name looked up in one directory.
struct Root::Child {
    bool exists = false;
    std::string host;   // real host name when it exists
    std::u16string ce;  // real case when it exists, else as requested
    HostStat st;
};

// A whole path: its parent directory and what the leaf is.
struct Root::Lookup {
    Walk parent;
    std::string leaf;          // host name: the real one when it exists, else the requested one
    std::string requested;     // host name as the caller wrote it
    bool exists = false;
    bool reserved = false;     // the caller named one of fsys's own files
    HostStat st;               // only when exists
    std::vector<std::u16string> real;  // canonical path including the leaf
};

namespace {

constexpr std::u16string_view kDefaultFolders[] = {u"Windows", u"My Documents",
                                                   u"Program Files", u"Temp"};

Win32Error fail(int neg_errno, ErrnoContext context) {
    return win32_from_errno(-neg_errno, context);
}

FileTimes times_of(const HostStat& st) {
    FileTimes t;
    t.creation = filetime_from_timespec(st.btime.value_or(st.mtime));
    t.last_access = filetime_from_timespec(st.atime);
    t.last_write = filetime_from_timespec(st.mtime);
    return t;
}

FileId id_of(const HostStat& st) { return FileId{st.dev, st.ino}; }

// Creates `dir` and missing parents; only a directory created here for `dir` itself gets 0700.
int make_dirs(const std::filesystem::path& dir) {
    auto target = dir.lexically_normal();
    if (!target.has_filename()) target = target.parent_path();  // "a/b/" -> "a/b"
    std::filesystem::path prefix;
    for (const auto& part : target) {
        prefix /= part;
        if (part == "/") continue;
        const mode_t mode = prefix == target ? 0700 : 0777;
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) return -errno;
    }
    return 0;
}

}  // namespace

Root::Root(UniqueFd root_fd, const HostStat& root_st, AttributeStore attrs, RootOptions options)
    : root_fd_(std::move(root_fd)),
      root_st_(root_st),
      attrs_(std::move(attrs)),
      cache_(options.cache_limits) {}

Root::~Root() = default;

Result<std::unique_ptr<Root>> Root::open(const std::filesystem::path& host_dir,
                                         RootOptions options) {
    if (host_dir.empty()) return Win32Error::ERROR_INVALID_PARAMETER;
    if (const int rc = make_dirs(host_dir); rc < 0) {
        log().error("cannot create store root dir='{}' errno={}", host_dir.string(), -rc);
        return fail(rc, ErrnoContext::parent);
    }
    // The one open by host path: the daemon's configured directory, not client input.
    UniqueFd fd(::open(host_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return win32_from_errno(errno, ErrnoContext::parent);
    {
        const int probe = open_beneath(fd.get(), ".", O_PATH | O_DIRECTORY);
        if (probe == -ENOSYS) {
            log().error("openat2 unavailable: the store cannot confine paths, refusing");
            return Win32Error::ERROR_NOT_SUPPORTED;
        }
        if (probe < 0) return fail(probe, ErrnoContext::parent);
        ::close(probe);
    }
    HostStat st;
    if (const int rc = stat_fd(fd.get(), st); rc < 0) return fail(rc, ErrnoContext::parent);
    CEK_TRY(auto attrs, AttributeStore::open(fd.get(), options.force_sidecar));
    std::unique_ptr<Root> root(new Root(std::move(fd), st, std::move(attrs), options));
    CEK_TRY_VOID(root->create_default_folders());
    log().info("store opened dir='{}' attributes={}", host_dir.string(),
               root->attribute_backend() == AttributeBackend::xattr ? "xattr" : "sidecar");
    return root;
}

Result<void> Root::create_default_folders() {
    for (std::u16string_view name : kDefaultFolders) {
        CEK_TRY(Child c, find_child(root_fd_.get(), name, true));
        if (c.exists) continue;
        const std::string host = *to_utf8(name);
        if (::mkdirat(root_fd_.get(), host.c_str(), 0777) != 0 && errno != EEXIST) {
            return win32_from_errno(errno, ErrnoContext::leaf);
        }
        cache_.invalidate(root_st_.dev, root_st_.ino);
    }
    return {};
}

// Exact-case statx first (most lookups), then the folded-name cache of the directory.
Result<Root::Child> Root::find_child(int dirfd, std::u16string_view name, bool is_leaf) {
    const ErrnoContext context = is_leaf ? ErrnoContext::leaf : ErrnoContext::parent;
    Child c;
    c.ce = std::u16string(name);
    if (is_reserved_ce_name(name)) return c;  // fsys's own files do not exist for CE
    auto host = to_utf8(name);
    if (!host) return Win32Error::ERROR_INVALID_NAME;
    int rc = stat_at(dirfd, host->c_str(), c.st);
    if (rc == 0) {
        c.exists = true;
        c.host = std::move(*host);
        return c;
    }
    if (rc != -ENOENT) return fail(rc, context);
    HostStat dir_st;
    if (rc = stat_fd(dirfd, dir_st); rc < 0) return fail(rc, ErrnoContext::parent);
    CEK_TRY(auto real, cache_.find(dirfd, dir_st, fold(name)));
    if (!real) return c;
    rc = stat_at(dirfd, real->c_str(), c.st);
    if (rc == -ENOENT) return c;  // removed since the directory was read, in the same tick
    if (rc < 0) return fail(rc, context);
    c.exists = true;
    c.ce = *from_utf8(*real);  // the cache only holds valid, addressable names
    c.host = std::move(*real);
    return c;
}

Result<Root::Walk> Root::walk_dirs(const CePath& path, size_t count) {
    Walk w;
    w.fd = root_fd_.get();
    w.st = root_st_;
    if (count == 0) return w;
    // Fast path: the whole exact-case directory chain in one openat2 (confined by RESOLVE_IN_ROOT
    // and RESOLVE_NO_SYMLINKS like every open). Any failure falls back to the component walk,
    // which finds other spellings and tells the precise error.
    std::string rel;
    bool fast = true;
    for (size_t i = 0; i < count && fast; ++i) {
        fast = !is_reserved_ce_name(path.components[i]);
        if (i > 0) rel += '/';
        rel += *to_utf8(path.components[i]);
    }
    if (fast) {
        const int fd = open_beneath(root_fd_.get(), rel.c_str(), O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            w.owner.reset(fd);
            w.fd = fd;
            w.st_known = false;
            w.real.assign(path.components.begin(), path.components.begin() + count);
            return w;
        }
    }
    for (size_t i = 0; i < count; ++i) {
        CEK_TRY(Child c, find_child(w.fd, path.components[i], false));
        if (!c.exists) return Win32Error::ERROR_PATH_NOT_FOUND;
        if (c.st.is_symlink()) return Win32Error::ERROR_ACCESS_DENIED;  // symlinks are refused
        if (!c.st.is_dir()) return Win32Error::ERROR_PATH_NOT_FOUND;
        const int fd = open_beneath(w.fd, c.host.c_str(), O_PATH | O_DIRECTORY);
        if (fd < 0) return fail(fd, ErrnoContext::parent);
        w.owner.reset(fd);
        w.fd = fd;
        w.st = c.st;
        w.real.push_back(std::move(c.ce));
    }
    return w;
}

Result<const HostStat*> Root::dir_stat(Walk& w) {
    if (!w.st_known) {
        if (const int rc = stat_fd(w.fd, w.st); rc < 0) return fail(rc, ErrnoContext::parent);
        w.st_known = true;
    }
    return &w.st;
}

void Root::changed(Walk& w) {
    auto st = dir_stat(w);
    if (st) {
        cache_.invalidate((*st)->dev, (*st)->ino);
    } else {
        cache_.clear();  // cannot tell which directory: forget them all
    }
}

Result<Root::Lookup> Root::lookup(const CePath& path) {
    Lookup l;
    if (path.is_root()) {
        l.parent.fd = root_fd_.get();
        l.parent.st = root_st_;
        l.leaf = l.requested = ".";
        l.exists = true;
        l.st = root_st_;
        return l;
    }
    const size_t n = path.components.size();
    CEK_TRY(l.parent, walk_dirs(path, n - 1));
    CEK_TRY(Child c, find_child(l.parent.fd, path.components[n - 1], true));
    if (c.exists && c.st.is_symlink()) return Win32Error::ERROR_ACCESS_DENIED;
    l.requested = *to_utf8(path.components[n - 1]);
    l.reserved = is_reserved_ce_name(path.components[n - 1]);
    l.exists = c.exists;
    l.leaf = c.exists ? std::move(c.host) : l.requested;
    l.st = c.st;
    l.real = l.parent.real;
    l.real.push_back(std::move(c.ce));
    return l;
}

// Attribute reads need a real descriptor (fgetxattr does not take O_PATH on older kernels).
// Special files are never opened (a device open has side effects): mode bits only.
Result<uint32_t> Root::attributes_of(int parent, const std::string& name, const HostStat& st) {
    if (!st.is_regular() && !st.is_dir()) return report_attributes(std::nullopt, st);
    UniqueFd fd(open_beneath(parent, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return fail(fd.get(), ErrnoContext::leaf);
    return attrs_.get(fd.get(), st);
}

std::optional<std::string> Root::exact_regular_file(const CePath& path, HostStat& st) {
    if (path.is_root()) return std::nullopt;
    std::string rel;
    for (const auto& c : path.components) {
        if (is_reserved_ce_name(c)) return std::nullopt;
        auto host = to_utf8(c);
        if (!host) return std::nullopt;
        if (!rel.empty()) rel += '/';
        rel += *host;
    }
    if (stat_at(root_fd_.get(), rel.c_str(), st) != 0 || !st.is_regular()) return std::nullopt;
    return rel;
}

Result<OpenedFile> Root::open_file(std::u16string_view path, const OpenRequest& request) {
    const uint32_t disposition = request.disposition;
    if (disposition < 1 || disposition > 5) return Win32Error::ERROR_INVALID_PARAMETER;
    if (static_cast<Disposition>(disposition) == Disposition::truncate_existing &&
        !request.write) {
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    CEK_TRY(CePath parsed, parse_path(path));
    return open_parsed(parsed, request, true);
}

Result<OpenedFile> Root::open_parsed(const CePath& parsed, const OpenRequest& request,
                                     bool fast) {
    const auto disp = static_cast<Disposition>(request.disposition);
    Lookup l;
    // Where the leaf is opened from: its parent, or for the fast path the root and the whole
    // relative path.
    int at = -1;
    std::string at_name;
    std::optional<std::string> whole;
    if (fast && disp != Disposition::create_new) whole = exact_regular_file(parsed, l.st);
    if (whole) {
        // An existing regular file named in its exact case (most opens): statx and openat2 by the
        // whole path; no parent walk. The open is confined like every other; if it fails, the
        // walk below finds other spellings and tells the precise error.
        at = root_fd_.get();
        at_name = std::move(*whole);
        l.exists = true;
        l.real = parsed.components;
    } else {
        CEK_TRY(l, lookup(parsed));
        at = l.parent.fd;
        at_name = l.leaf;
    }

    const int access = request.write ? O_RDWR | (request.write_through ? O_DSYNC : 0) : O_RDONLY;
    const int common = O_NOCTTY | O_NONBLOCK;  // a FIFO swapped in by the host must not block us
    UniqueFd fd;
    bool truncate = false;
    uint32_t new_attributes = 0;
    bool apply_attributes = false;

    if (l.exists) {
        if (l.st.is_dir()) {
            if (!request.allow_directory) return Win32Error::ERROR_ACCESS_DENIED;
            if (disp == Disposition::create_new) return Win32Error::ERROR_FILE_EXISTS;
            if (disp == Disposition::create_always || disp == Disposition::truncate_existing) {
                return Win32Error::ERROR_ACCESS_DENIED;
            }
            fd.reset(open_beneath(l.parent.fd, l.leaf.c_str(), O_RDONLY | O_DIRECTORY | common));
        } else if (!l.st.is_regular()) {
            return Win32Error::ERROR_ACCESS_DENIED;
        } else {
            if (disp == Disposition::create_new) return Win32Error::ERROR_FILE_EXISTS;
            truncate = disp == Disposition::create_always || disp == Disposition::truncate_existing;
            // Never O_TRUNC here: READONLY must be checked on the opened file first.
            fd.reset(open_beneath(at, at_name.c_str(), access | common));
            if (!fd.valid() && at == root_fd_.get()) {
                return open_parsed(parsed, request, false);  // it met a symlink, a race...
            }
        }
        if (!fd.valid()) return fail(fd.get(), ErrnoContext::leaf);
        if (request.write || truncate) {
            HostStat st;
            if (const int rc = stat_fd(fd.get(), st); rc < 0) return fail(rc, ErrnoContext::leaf);
            CEK_TRY(uint32_t attrs, attrs_.get(fd.get(), st));
            if ((attrs & kAttrReadonly) != 0) {
                log().debug("open for write refused path='{}' readonly -> ERROR_ACCESS_DENIED(5)",
                            at_name);
                return Win32Error::ERROR_ACCESS_DENIED;
            }
        }
        if (disp == Disposition::create_always) {
            new_attributes = (request.attributes & kStoredMask) | kAttrArchive;
            apply_attributes = true;
        }
    } else {
        if (disp == Disposition::open_existing || disp == Disposition::truncate_existing) {
            log().debug("open missing leaf -> ERROR_FILE_NOT_FOUND(2)");
            return Win32Error::ERROR_FILE_NOT_FOUND;
        }
        if (l.reserved) return Win32Error::ERROR_ACCESS_DENIED;
        fd.reset(open_beneath(l.parent.fd, l.requested.c_str(),
                              access | common | O_CREAT | O_EXCL, 0666));
        if (!fd.valid()) return fail(fd.get(), ErrnoContext::create_file);
        changed(l.parent);
        new_attributes = (request.attributes & kStoredMask) | kAttrArchive;
        apply_attributes = new_attributes != kAttrArchive;  // ARCHIVE alone is the default
    }

    if (truncate) {
        // A read-only descriptor cannot ftruncate; CREATE_ALWAYS truncates whatever the access.
        if (request.write) {
            if (::ftruncate(fd.get(), 0) != 0) return win32_from_errno(errno, ErrnoContext::leaf);
        } else {
            UniqueFd w(open_beneath(at, at_name.c_str(), O_WRONLY | O_TRUNC | common));
            if (!w.valid()) return fail(w.get(), ErrnoContext::leaf);
        }
    }

    HostStat st;
    if (const int rc = stat_fd(fd.get(), st); rc < 0) return fail(rc, ErrnoContext::leaf);
    if (!st.is_regular() && !st.is_dir()) return Win32Error::ERROR_ACCESS_DENIED;
    if (apply_attributes) {
        if (auto r = attrs_.set(fd.get(), st, new_attributes); !r) {
            if (!l.exists) ::unlinkat(l.parent.fd, l.requested.c_str(), 0);
            return r.error();
        }
    }
    ::fcntl(fd.get(), F_SETFL, 0);  // drops O_NONBLOCK; F_SETFL leaves O_DSYNC alone

    OpenedFile out;
    out.existed = l.exists;
    out.is_directory = st.is_dir();
    out.id = id_of(st);
    out.ce_path = format_path(l.real);
    out.fd = std::move(fd);
    return out;
}

Result<uint32_t> Root::get_attributes(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup(parsed));
    if (!l.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    return attributes_of(l.parent.fd, l.leaf, l.st);
}

Result<void> Root::set_attributes(std::u16string_view path, uint32_t attributes) {
    CEK_TRY(CePath parsed, parse_path(path));
    if (parsed.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup l, lookup(parsed));
    if (!l.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!l.st.is_regular() && !l.st.is_dir()) return Win32Error::ERROR_ACCESS_DENIED;
    UniqueFd fd(open_beneath(l.parent.fd, l.leaf.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return fail(fd.get(), ErrnoContext::leaf);
    return attrs_.set(fd.get(), l.st, attributes);
}

Result<uint32_t> Root::get_attributes(int fd) {
    HostStat st;
    if (const int rc = stat_fd(fd, st); rc < 0) return fail(rc, ErrnoContext::leaf);
    return attrs_.get(fd, st);
}

Result<void> Root::set_attributes(int fd, uint32_t attributes) {
    HostStat st;
    if (const int rc = stat_fd(fd, st); rc < 0) return fail(rc, ErrnoContext::leaf);
    if (st.ino == root_st_.ino && st.dev == root_st_.dev) return Win32Error::ERROR_ACCESS_DENIED;
    return attrs_.set(fd, st, attributes);
}

Result<FileInfo> Root::query(int fd) {
    HostStat st;
    if (const int rc = stat_fd(fd, st); rc < 0) return fail(rc, ErrnoContext::leaf);
    FileInfo info;
    CEK_TRY(info.attributes, attrs_.get(fd, st));
    info.size = st.is_dir() ? 0 : st.size;
    info.links = st.nlink;
    info.times = times_of(st);
    info.id = id_of(st);
    return info;
}

Result<FileTimes> Root::get_times(int fd) {
    HostStat st;
    if (const int rc = stat_fd(fd, st); rc < 0) return fail(rc, ErrnoContext::leaf);
    return times_of(st);
}

Result<void> Root::set_times(int fd, std::optional<uint64_t> creation,
                             std::optional<uint64_t> last_access,
                             std::optional<uint64_t> last_write) {
    if (creation) log().debug("set creation time ignored: the host cannot set a birth time");
    if (!last_access && !last_write) return {};
    timespec ts[2];
    ts[0] = last_access ? timespec_from_filetime(*last_access) : timespec{0, UTIME_OMIT};
    ts[1] = last_write ? timespec_from_filetime(*last_write) : timespec{0, UTIME_OMIT};
    if (::futimens(fd, ts) != 0) return win32_from_errno(errno, ErrnoContext::leaf);
    return {};
}

Result<void> Root::delete_file(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    if (parsed.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup l, lookup(parsed));
    if (!l.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!l.st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(uint32_t attrs, attributes_of(l.parent.fd, l.leaf, l.st));
    if ((attrs & kAttrReadonly) != 0) return Win32Error::ERROR_ACCESS_DENIED;
    if (::unlinkat(l.parent.fd, l.leaf.c_str(), 0) != 0) {
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
    attrs_.forget(l.st);
    changed(l.parent);
    return {};
}

Result<void> Root::move_file(std::u16string_view from, std::u16string_view to) {
    CEK_TRY(CePath src_path, parse_path(from));
    CEK_TRY(CePath dst_path, parse_path(to));
    if (src_path.is_root() || dst_path.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup src, lookup(src_path));
    if (!src.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!src.st.is_regular() && !src.st.is_dir()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup dst, lookup(dst_path));
    if (dst.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    if (dst.exists) {
        CEK_TRY(const HostStat* src_dir, dir_stat(src.parent));
        CEK_TRY(const HostStat* dst_dir, dir_stat(dst.parent));
        const bool same_entry = id_of(dst.st) == id_of(src.st) &&
                                id_of(*dst_dir) == id_of(*src_dir) && dst.leaf == src.leaf;
        if (!same_entry) return Win32Error::ERROR_ALREADY_EXISTS;
        if (dst.requested == src.leaf) return {};  // renaming onto itself, same case
        // A case-only rename: the new spelling does not exist on the host, so NOREPLACE holds.
    }
    int rc = ::renameat2(src.parent.fd, src.leaf.c_str(), dst.parent.fd, dst.requested.c_str(),
                         RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {
        // Either the file system lacks RENAME_NOREPLACE or this moves a directory into itself;
        // the target was absent a moment ago, so a plain rename tells the two apart.
        rc = ::renameat(src.parent.fd, src.leaf.c_str(), dst.parent.fd, dst.requested.c_str());
    }
    if (rc != 0) return win32_from_errno(errno, ErrnoContext::rename);
    changed(src.parent);
    changed(dst.parent);
    if (src.st.is_dir()) cache_.invalidate(src.st.dev, src.st.ino);
    return {};
}

namespace {

// Copies bytes [from, to) of `in` to the same offsets of `out`, in kernel where possible.
// Stops early if the source shrinks meanwhile. 0 or -errno.
int copy_range(int in, int out, off_t from, off_t to) {
    off_t in_off = from;
    off_t out_off = from;
    while (in_off < to) {
        const ssize_t n = ::copy_file_range(in, &in_off, out, &out_off,
                                            static_cast<size_t>(to - in_off), 0);
        if (n > 0) continue;  // both offsets advanced
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) break;
        return -errno;
    }
    // For file systems without copy_file_range: from where it stopped.
    char buf[65536];
    while (in_off < to) {
        const ssize_t n = ::pread(in, buf, std::min<size_t>(sizeof buf, to - in_off), in_off);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (ssize_t done = 0; done < n;) {
            const ssize_t w =
                ::pwrite(out, buf + done, static_cast<size_t>(n - done), in_off + done);
            if (w < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            done += w;
        }
        in_off += n;
    }
    return 0;
}

// Copies the first `size` bytes of `in` to the empty `out`: only the source's data extents, then
// the length, so a sparse source (a file grown by SetEndOfFile or by a file mapping) stays sparse
// and its holes cost nothing to copy. 0 or -errno.
int copy_data(int in, int out, uint64_t size) {
    const auto end = static_cast<off_t>(size);
    for (off_t pos = 0; pos < end;) {
        off_t data = ::lseek(in, pos, SEEK_DATA);
        off_t hole = end;
        if (data < 0) {
            if (errno == ENXIO) break;  // nothing but a hole from pos on
            if (errno != EINVAL && errno != EOPNOTSUPP) return -errno;
            data = pos;  // no SEEK_DATA on this file system: copy the rest as data
        } else {
            hole = ::lseek(in, data, SEEK_HOLE);
            if (hole <= data || hole > end) hole = end;  // also when SEEK_HOLE fails
        }
        if (data >= end) break;
        if (const int rc = copy_range(in, out, data, hole); rc < 0) return rc;
        pos = hole;
    }
    return ::ftruncate(out, end) == 0 ? 0 : -errno;
}

}  // namespace

Result<void> Root::copy_file(std::u16string_view from, std::u16string_view to,
                             bool fail_if_exists) {
    CEK_TRY(CePath src_path, parse_path(from));
    CEK_TRY(CePath dst_path, parse_path(to));
    if (src_path.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    if (dst_path.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup src, lookup(src_path));
    if (!src.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!src.st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup dst, lookup(dst_path));
    if (dst.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    if (dst.exists) {
        if (fail_if_exists) return Win32Error::ERROR_FILE_EXISTS;
        if (!dst.st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
        if (id_of(dst.st) == id_of(src.st)) return Win32Error::ERROR_SHARING_VIOLATION;
        CEK_TRY(uint32_t dst_attrs, attributes_of(dst.parent.fd, dst.leaf, dst.st));
        if ((dst_attrs & kAttrReadonly) != 0) return Win32Error::ERROR_ACCESS_DENIED;
    }

    UniqueFd in(open_beneath(src.parent.fd, src.leaf.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!in.valid()) return fail(in.get(), ErrnoContext::leaf);
    HostStat src_st;
    if (const int rc = stat_fd(in.get(), src_st); rc < 0) return fail(rc, ErrnoContext::leaf);
    if (!src_st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(uint32_t src_attrs, attrs_.get(in.get(), src_st));

    const std::string temp = std::string(kReservedPrefix) + "tmp." + std::to_string(::getpid()) +
                             "." + std::to_string(++temp_counter_);
    UniqueFd out(open_beneath(dst.parent.fd, temp.c_str(), O_RDWR | O_CREAT | O_EXCL, 0666));
    if (!out.valid()) return fail(out.get(), ErrnoContext::leaf);
    HostStat out_st;
    auto abandon = [&](Win32Error e) -> Result<void> {
        ::unlinkat(dst.parent.fd, temp.c_str(), 0);
        if (out_st.ino != 0) attrs_.forget(out_st);
        return e;
    };
    if (const int rc = copy_data(in.get(), out.get(), src_st.size); rc < 0) {
        return abandon(win32_from_errno(-rc, ErrnoContext::leaf));
    }
    const timespec times[2] = {src_st.atime, src_st.mtime};
    if (::futimens(out.get(), times) != 0) {
        return abandon(win32_from_errno(errno, ErrnoContext::leaf));
    }
    if (const int rc = stat_fd(out.get(), out_st); rc < 0) {
        return abandon(win32_from_errno(-rc, ErrnoContext::leaf));
    }
    // The copy carries the source's attributes plus ARCHIVE, READONLY last (it drops write bits).
    const uint32_t attrs = (src_attrs & kStoredMask) | kAttrArchive;
    if (attrs != kAttrArchive) {
        if (auto r = attrs_.set(out.get(), out_st, attrs); !r) return abandon(r.error());
    }
    out.reset();

    int rc;
    if (fail_if_exists || !dst.exists) {
        rc = ::renameat2(dst.parent.fd, temp.c_str(), dst.parent.fd, dst.requested.c_str(),
                         RENAME_NOREPLACE);
        if (rc != 0 && errno == EINVAL) {
            rc = ::renameat(dst.parent.fd, temp.c_str(), dst.parent.fd, dst.requested.c_str());
        }
        if (rc != 0 && errno == EEXIST) return abandon(Win32Error::ERROR_FILE_EXISTS);
    } else {
        // Replace the existing entry under its own (real-case) name, not a second spelling.
        rc = ::renameat(dst.parent.fd, temp.c_str(), dst.parent.fd, dst.leaf.c_str());
    }
    if (rc != 0) return abandon(win32_from_errno(errno, ErrnoContext::leaf));
    if (dst.exists) attrs_.forget(dst.st);
    changed(dst.parent);
    return {};
}

Result<void> Root::create_directory(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    if (parsed.is_root()) return Win32Error::ERROR_ALREADY_EXISTS;
    CEK_TRY(Lookup l, lookup(parsed));
    if (l.exists) return Win32Error::ERROR_ALREADY_EXISTS;
    if (l.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    if (::mkdirat(l.parent.fd, l.requested.c_str(), 0777) != 0) {
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
    changed(l.parent);
    return {};
}

Result<void> Root::remove_directory(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    if (parsed.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup l, lookup(parsed));
    if (!l.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!l.st.is_dir()) return Win32Error::ERROR_DIRECTORY;
    CEK_TRY(uint32_t attrs, attributes_of(l.parent.fd, l.leaf, l.st));
    const bool top_level = parsed.components.size() == 1;
    if ((attrs & kAttrReadonly) != 0 ||
        (top_level && ((attrs & kAttrTemporary) != 0 ||
                       equal_folded(parsed.components[0], u"Windows")))) {
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    if (::unlinkat(l.parent.fd, l.leaf.c_str(), AT_REMOVEDIR) != 0) {
        int err = errno;
        if (err == ENOTEMPTY || err == EEXIST) {
            // Empty to CE when only fsys leftovers (an interrupted copy's temporary) remain.
            UniqueFd dir(open_beneath(l.parent.fd, l.leaf.c_str(), O_PATH | O_DIRECTORY));
            std::vector<std::string> names;
            if (dir.valid() && list_dir(dir.get(), names) == 0 &&
                std::all_of(names.begin(), names.end(), is_reserved_host_name)) {
                for (const auto& n : names) ::unlinkat(dir.get(), n.c_str(), 0);
                err = ::unlinkat(l.parent.fd, l.leaf.c_str(), AT_REMOVEDIR) == 0 ? 0 : errno;
            } else {
                err = ENOTEMPTY;
            }
        }
        if (err != 0) return win32_from_errno(err, ErrnoContext::directory);
    }
    attrs_.forget(l.st);
    cache_.invalidate(l.st.dev, l.st.ino);
    changed(l.parent);
    return {};
}

Result<FindEntry> Root::make_entry(int dirfd, const std::string& host, std::u16string name,
                                   const HostStat& st) {
    FindEntry e;
    CEK_TRY(e.attributes, attributes_of(dirfd, host, st));
    e.name = std::move(name);
    e.size = st.is_dir() ? 0 : st.size;
    e.times = times_of(st);
    return e;
}

Result<std::vector<FindEntry>> Root::find_files(std::u16string_view pattern) {
    CEK_TRY(CePath parsed, parse_path(pattern, PathKind::pattern));
    if (parsed.is_root()) return Win32Error::ERROR_FILE_NOT_FOUND;
    const std::u16string& last = parsed.components.back();
    std::vector<FindEntry> out;

    if (!has_wildcards(last)) {
        auto l = lookup(parsed);
        if (!l && l.error() == Win32Error::ERROR_ACCESS_DENIED) {
            return Win32Error::ERROR_FILE_NOT_FOUND;  // a symlink: not listed, so not found
        }
        if (!l) return l.error();
        if (!l->exists || (!l->st.is_regular() && !l->st.is_dir())) {
            return Win32Error::ERROR_FILE_NOT_FOUND;
        }
        CEK_TRY(FindEntry e, make_entry(l->parent.fd, l->leaf, l->real.back(), l->st));
        out.push_back(std::move(e));
        return out;
    }

    CEK_TRY(Walk dir, walk_dirs(parsed, parsed.components.size() - 1));
    std::vector<std::string> names;
    if (const int rc = list_dir(dir.fd, names); rc < 0) return fail(rc, ErrnoContext::parent);
    const std::u16string folded_pattern = fold(last);
    std::vector<std::pair<std::u16string, FindEntry>> found;
    for (const auto& host : names) {
        if (is_reserved_host_name(host)) continue;
        auto wide = from_utf8(host);
        if (!wide || !is_addressable_name(*wide)) continue;
        std::u16string folded = fold(*wide);
        if (!match_pattern(folded_pattern, folded)) continue;
        HostStat st;
        if (const int rc = stat_at(dir.fd, host.c_str(), st); rc < 0) {
            if (rc == -ENOENT) continue;  // removed while listing
            return fail(rc, ErrnoContext::leaf);
        }
        if (!st.is_regular() && !st.is_dir()) continue;
        auto entry = make_entry(dir.fd, host, std::move(*wide), st);
        if (!entry) {
            log().debug("find skips unreadable entry name='{}'", host);
            continue;
        }
        found.emplace_back(std::move(folded), std::move(entry).value());
    }
    if (found.empty()) return Win32Error::ERROR_FILE_NOT_FOUND;
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first < b.first;
        return a.second.name < b.second.name;
    });
    out.reserve(found.size());
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
}

}  // namespace cek::fsys
