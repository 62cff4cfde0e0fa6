// Root: resolving CE paths beneath the store root, case-insensitively and never through a
// symlink (see docs/fsys.md, "Lookup and the folded-name cache").
#include <fcntl.h>

#include <cerrno>

#include "fsys/fold.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

// Exact-case statx first (most lookups), then the folded-name cache of the directory.
Result<Root::Child> Root::find_child(int dirfd, std::u16string_view name, const std::string& host,
                                     bool is_leaf, bool exact_missing, const HostStat* dir_now) {
    const ErrnoContext context = is_leaf ? ErrnoContext::leaf : ErrnoContext::parent;
    Child c;
    if (is_reserved_ce_name(name)) return c;  // fsys's own files do not exist for CE
    // A leaf in a directory stat'ed just now whose listing is trusted: a name it does not hold
    // in any case costs no statx (SQLite asks for its missing journals at every transaction).
    std::u16string folded;  // folded once, when a listing is asked
    if (is_leaf && dir_now != nullptr) {
        folded = fold(name);
        if (auto known = cache_.known_presence(*dir_now, folded); known && !*known) return c;
    }
    int rc = exact_missing ? -ENOENT : stat_at(dirfd, host.c_str(), c.st);
    if (rc == 0) {
        c.exists = true;
        c.host = host;
        return c;
    }
    if (rc != -ENOENT) return fail(rc, context);
    HostStat dir_st;
    if (dir_now != nullptr) {
        dir_st = *dir_now;
    } else if (rc = stat_fd(dirfd, dir_st); rc < 0) {
        return fail(rc, ErrnoContext::parent);
    }
    if (folded.empty()) folded = fold(name);
    CEK_TRY(auto real, cache_.find(dirfd, dir_st, folded));
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
    w.exact = count == 0;
    if (count == 0) return w;
    // Fast paths for an exact-case directory chain: up to kCachedDepth levels from the
    // descriptor cache (a statx per level), deeper in one openat2 (confined by RESOLVE_IN_ROOT
    // and RESOLVE_NO_SYMLINKS like every open). Any failure falls back to the component walk,
    // which finds other spellings and tells the precise error.
    bool fast = true;
    for (size_t i = 0; i < count && fast; ++i) fast = !is_reserved_ce_name(path.components[i]);
    if (fast && count <= kCachedDepth) {
        if (walk_cached(path, count, w, dir_fds_.begin_walk())) return w;
    } else if (fast) {
        std::string rel;
        for (size_t i = 0; i < count; ++i) {
            if (i > 0) rel += '/';
            rel += *to_utf8(path.components[i]);
        }
        const int fd = open_beneath(root_fd_.get(), rel.c_str(), O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            w.owner.reset(fd);
            w.fd = fd;
            w.st_known = false;
            w.exact = true;
            return w;
        }
    }
    for (size_t i = 0; i < count; ++i) {
        auto host = to_utf8(path.components[i]);
        if (!host) return Win32Error::ERROR_INVALID_NAME;
        CEK_TRY(Child c, find_child(w.fd, path.components[i], *host, false));
        if (!c.exists) return Win32Error::ERROR_PATH_NOT_FOUND;
        if (c.st.is_symlink()) return Win32Error::ERROR_ACCESS_DENIED;  // symlinks are refused
        if (!c.st.is_dir()) return Win32Error::ERROR_PATH_NOT_FOUND;
        const int fd = open_beneath(w.fd, c.host.c_str(), O_PATH | O_DIRECTORY);
        if (fd < 0) return fail(fd, ErrnoContext::parent);
        w.owner.reset(fd);
        w.fd = fd;
        w.st = c.st;
        w.real.push_back(c.ce.empty() ? path.components[i] : std::move(c.ce));
    }
    return w;
}

bool Root::walk_cached(const CePath& path, size_t count, Walk& w, bool watched,
                       bool cached_only) {
    int parent = root_fd_.get();
    std::string key;
    DirFds::Fd fd;
    HostStat st = root_st_;
    for (size_t i = 0; i < count; ++i) {
        auto host = to_utf8(path.components[i]);
        if (!host) return false;
        if (i > 0) key += '/';
        key += *host;
        fd = dir_fds_.open(parent, key, host->c_str(), st, watched, cached_only);
        if (!fd) return false;
        parent = fd->get();
    }
    w.shared = std::move(fd);
    w.fd = parent;
    w.st = st;
    w.st_known = true;
    w.st_fresh = count > 0;  // the root's stat is as at start
    w.exact = true;
    w.watched = watched;
    return true;
}

Result<const HostStat*> Root::dir_stat(Walk& w) {
    if (!w.st_known) {
        if (const int rc = stat_fd(w.fd, w.st); rc < 0) return fail(rc, ErrnoContext::parent);
        w.st_known = true;
    }
    return &w.st;
}

std::optional<HostStat> Root::before_change(const Walk& w) {
    HostStat st;
    if (stat_fd(w.fd, st) < 0) return std::nullopt;
    return st;
}

void Root::changed(Walk& w, const std::optional<HostStat>& before, std::string_view removed,
                   std::string_view added) {
    HostStat after;
    if (stat_fd(w.fd, after) < 0) {
        cache_.clear();  // cannot tell which directory: forget them all
        return;
    }
    w.st = after;
    w.st_known = true;
    if (before) {
        cache_.update(*before, after, removed, added);
    } else {
        cache_.invalidate(after.dev, after.ino);
    }
}

Result<Root::Lookup> Root::lookup(const CePath& path, bool exact_missing) {
    Lookup l;
    if (path.is_root()) {
        l.parent.fd = root_fd_.get();
        l.parent.st = root_st_;
        l.leaf = l.requested = ".";
        l.exists = true;
        l.st = root_st_;
        return l;
    }
    CEK_TRY(Walk parent, walk_dirs(path, path.components.size() - 1));
    return lookup_leaf(path, std::move(parent), exact_missing);
}

Result<Root::Lookup> Root::lookup_leaf(const CePath& path, Walk parent, bool exact_missing) {
    Lookup l;
    l.parent = std::move(parent);
    const size_t n = path.components.size();
    auto requested = to_utf8(path.components[n - 1]);
    if (!requested) return Win32Error::ERROR_INVALID_NAME;
    // The whole path's ENOENT says the leaf is missing as spelled only if its directories were
    // found as spelled too.
    CEK_TRY(Child c, find_child(l.parent.fd, path.components[n - 1], *requested, true,
                                exact_missing && l.parent.exact,
                                l.parent.st_fresh ? &l.parent.st : nullptr));
    if (c.exists && c.st.is_symlink()) return Win32Error::ERROR_ACCESS_DENIED;
    l.requested = std::move(*requested);
    l.reserved = is_reserved_ce_name(path.components[n - 1]);
    l.exists = c.exists;
    l.leaf = c.exists ? std::move(c.host) : l.requested;
    l.st = c.st;
    l.leaf_ce = std::move(c.ce);
    return l;
}

Result<Root::Lookup> Root::lookup_existing(const CePath& path, bool root_ok) {
    if (path.is_root() && !root_ok) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(Lookup l, lookup(path));
    if (!l.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    return l;
}

Result<Root::Transfer> Root::lookup_transfer(std::u16string_view from, std::u16string_view to,
                                             bool directories) {
    CEK_TRY(CePath src_path, parse_path(from));
    CEK_TRY(CePath dst_path, parse_path(to));
    if (src_path.is_root() || dst_path.is_root()) return Win32Error::ERROR_ACCESS_DENIED;
    Transfer t;
    CEK_TRY(t.src, lookup(src_path));
    if (!t.src.exists) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (!t.src.st.is_regular() && !(directories && t.src.st.is_dir())) {
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    CEK_TRY(t.dst, lookup(dst_path));
    if (t.dst.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    return t;
}

// Attribute reads need a real descriptor (fgetxattr does not take O_PATH on older kernels).
// Special files are never opened (a device open has side effects): mode bits only.
Result<uint32_t> Root::attributes_of(int parent, const std::string& name, const HostStat& st) {
    if (!st.is_regular() && !st.is_dir()) return report_attributes(std::nullopt, st);
    UniqueFd fd(open_beneath(parent, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!fd.valid()) return fail(fd.get(), ErrnoContext::leaf);
    return attrs_.get(fd.get(), st);
}

std::optional<std::string> Root::exact_regular_file(const CePath& path, HostStat& st,
                                                    bool& exact_missing) {
    exact_missing = false;
    if (path.is_root()) return std::nullopt;
    std::string rel;
    for (const auto& c : path.components) {
        if (is_reserved_ce_name(c)) return std::nullopt;
        auto host = to_utf8(c);
        if (!host) return std::nullopt;
        if (!rel.empty()) rel += '/';
        rel += *host;
    }
    const int rc = stat_at(root_fd_.get(), rel.c_str(), st);
    exact_missing = rc == -ENOENT;
    if (rc != 0 || !st.is_regular()) return std::nullopt;
    return rel;
}

}  // namespace cek::fsys
