// Root: CreateFileW / CreateFileForMappingW. An existing regular file named in its exact case
// is opened from its cached, watched directory (without a statx when it is known as regular
// since the last change) or by its whole path from the root; anything else is looked up
// component by component.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "fsys/log.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

// Where open_parsed opens the leaf from: its parent, or for the fast path the root and the
// whole relative path.
struct Root::OpenTarget {
    Lookup l;
    int at = -1;
    std::string at_name;
    bool fast = false;  // opened by the exact-case path: a failure retries by walking
    // Known as a regular file since the last change (DirFds::known_regular): no statx taken,
    // l.st is empty.
    bool known_regular = false;
    // Found through watched directories since the queue was read: once opened and seen to be a
    // regular file, `rel` is noted as known.
    bool may_note = false;
    std::string rel;  // the path from the root as spelled, for the note
};

// The leaf's descriptor and what is still to be done to it.
struct Root::OpenedLeaf {
    UniqueFd fd;  // invalid only when the fast path's open failed: the caller walks instead
    HostStat st;  // the opened file's, read right after the open
    bool expect_regular = false;  // opened as a regular file, without O_DIRECTORY
    bool truncate = false;
    bool apply_attributes = false;
    uint32_t new_attributes = 0;
};

namespace {

// O_NONBLOCK: a FIFO swapped in by the host must not block us.
constexpr int kOpenCommon = O_NOCTTY | O_NONBLOCK;

int access_flags(const OpenRequest& request) {
    return request.write ? O_RDWR | (request.write_through ? O_DSYNC : 0) : O_RDONLY;
}

Disposition disposition_of(const OpenRequest& request) {
    return static_cast<Disposition>(request.disposition);
}

// CREATE_ALWAYS / TRUNCATE_EXISTING on an existing file whose READONLY was checked. A read-only
// descriptor cannot ftruncate; CREATE_ALWAYS truncates whatever the access.
Result<void> truncate_opened(int fd, bool write, int at, const std::string& name) {
    if (write) {
        if (::ftruncate(fd, 0) != 0) return win32_from_errno(errno, ErrnoContext::leaf);
        return {};
    }
    UniqueFd w(open_beneath(at, name.c_str(), O_WRONLY | O_TRUNC | kOpenCommon));
    if (!w.valid()) return fail(w.get(), ErrnoContext::leaf);
    return {};
}

}  // namespace

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
    CEK_TRY(OpenTarget t, locate_for_open(parsed, request, fast));
    OpenedLeaf leaf;
    if (t.l.exists) {
        CEK_TRY(leaf, open_existing(t, request));
        if (!leaf.fd.valid()) return open_parsed(parsed, request, false);  // a symlink, a race...
    } else {
        CEK_TRY(leaf, create_leaf(t.l, request));
    }
    if (const int rc = stat_fd(leaf.fd.get(), leaf.st); rc < 0) return fail(rc, ErrnoContext::leaf);
    if (leaf.expect_regular && !leaf.st.is_regular()) {
        // Replaced between the look and the open (O_NONBLOCK: a FIFO did not block it). The walk
        // tells what is there now.
        log().debug("open: '{}' is no longer a regular file", t.at_name);
        if (t.fast) return open_parsed(parsed, request, false);
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    if (t.l.exists && (request.write || leaf.truncate))
        CEK_TRY_VOID(refuse_readonly(leaf.fd.get(), leaf.st, t.at_name));
    if (leaf.truncate) CEK_TRY_VOID(truncate_opened(leaf.fd.get(), request.write, t.at, t.at_name));
    CEK_TRY(OpenedFile out, finish_open(parsed, t.l, std::move(leaf)));
    if (t.may_note && !out.is_directory) dir_fds_.note_regular(t.rel);
    return out;
}

Result<Root::OpenTarget> Root::locate_for_open(const CePath& parsed, const OpenRequest& request,
                                               bool fast) {
    OpenTarget t;
    std::optional<std::string> whole;
    bool exact_missing = false;
    if (fast && disposition_of(request) != Disposition::create_new) {
        CEK_TRY(bool found, locate_watched(parsed, t));
        if (found) return t;
        whole = exact_regular_file(parsed, t.l.st, exact_missing);
    }
    if (whole) {
        // An existing regular file named in its exact case (most opens): statx and openat2 by the
        // whole path; no parent walk. The open is confined like every other; if it fails, the
        // walk finds other spellings and tells the precise error.
        t.at = root_fd_.get();
        t.at_name = std::move(*whole);
        t.fast = true;
        t.l.exists = true;
        t.l.parent.exact = true;
        return t;
    }
    CEK_TRY(t.l, lookup(parsed, exact_missing));
    t.at = t.l.parent.fd;
    t.at_name = t.l.leaf;
    return t;
}

// An exact-case path whose directories are in the watched descriptor cache (at most
// kCachedDepth of them), right after a read of the change queue found it empty: the directories
// cost nothing (a statx each once after an event), and a leaf known as a regular file no statx.
// False: use the whole-path route (no watch, a deeper path, a change just seen, a directory not
// cached as spelled or not watched, a leaf that is neither a file nor missing).
Result<bool> Root::locate_watched(const CePath& parsed, OpenTarget& t) {
    const size_t n = parsed.components.size();
    if (!dir_fds_.watching() || parsed.is_root() || n - 1 > kCachedDepth) return false;
    std::string rel;
    std::string leaf;
    for (const auto& c : parsed.components) {
        if (is_reserved_ce_name(c)) return false;
        auto host = to_utf8(c);
        if (!host) return false;
        if (!rel.empty()) rel += '/';
        rel += *host;
        leaf = std::move(*host);
    }
    const bool watched = dir_fds_.begin_walk();
    if (!dir_fds_.quiet()) return false;
    Walk parent;
    if (!walk_cached(parsed, n - 1, parent, watched, true) || !parent.watched) return false;
    if (dir_fds_.known_regular(rel)) {
        dir_fds_.count_known_open();
        t.known_regular = true;
    } else {
        const int rc = stat_at(parent.fd, leaf.c_str(), t.l.st);
        if (rc == -ENOENT) {
            // Not there as spelled: the leaf's lookup in the directory already walked.
            CEK_TRY(t.l, lookup_leaf(parsed, std::move(parent), true));
            t.at = t.l.parent.fd;
            t.at_name = t.l.leaf;
            return true;
        }
        if (rc != 0 || t.l.st.is_symlink()) return false;  // the walk tells the precise error
        t.may_note = t.l.st.is_regular();
    }
    t.l.parent = std::move(parent);
    t.l.exists = true;
    t.l.leaf = t.l.requested = leaf;
    t.at = t.l.parent.fd;
    t.at_name = std::move(leaf);
    t.fast = true;
    t.may_note = t.may_note || t.known_regular;
    t.rel = std::move(rel);
    return true;
}

Result<Root::OpenedLeaf> Root::open_existing(const OpenTarget& t, const OpenRequest& request) {
    const Disposition disp = disposition_of(request);
    const Lookup& l = t.l;
    OpenedLeaf leaf;
    if (!t.known_regular && l.st.is_dir()) {
        if (!request.allow_directory) return Win32Error::ERROR_ACCESS_DENIED;
        if (disp == Disposition::create_new) return Win32Error::ERROR_FILE_EXISTS;
        if (disp == Disposition::create_always || disp == Disposition::truncate_existing) {
            return Win32Error::ERROR_ACCESS_DENIED;
        }
        leaf.fd.reset(
            open_beneath(l.parent.fd, l.leaf.c_str(), O_RDONLY | O_DIRECTORY | kOpenCommon));
    } else if (!t.known_regular && !l.st.is_regular()) {
        return Win32Error::ERROR_ACCESS_DENIED;
    } else {
        if (disp == Disposition::create_new) return Win32Error::ERROR_FILE_EXISTS;
        leaf.truncate =
            disp == Disposition::create_always || disp == Disposition::truncate_existing;
        leaf.expect_regular = true;
        // Never O_TRUNC here: READONLY must be checked on the opened file first.
        leaf.fd.reset(open_beneath(t.at, t.at_name.c_str(), access_flags(request) | kOpenCommon));
        // Only the fast path retries: a walked open of a file in the root also starts at the
        // root, and retrying it would recurse without end.
        if (!leaf.fd.valid() && t.fast) return leaf;
    }
    if (!leaf.fd.valid()) return fail(leaf.fd.get(), ErrnoContext::leaf);
    if (disp == Disposition::create_always) {
        leaf.new_attributes = (request.attributes & kStoredMask) | kAttrArchive;
        leaf.apply_attributes = true;
    }
    return leaf;
}

Result<void> Root::refuse_readonly(int fd, const HostStat& st, const std::string& name) {
    CEK_TRY(uint32_t attrs, attrs_.get(fd, st));
    if ((attrs & kAttrReadonly) != 0) {
        log().debug("open for write refused path='{}' readonly -> ERROR_ACCESS_DENIED(5)", name);
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    return {};
}

Result<Root::OpenedLeaf> Root::create_leaf(Lookup& l, const OpenRequest& request) {
    const Disposition disp = disposition_of(request);
    if (disp == Disposition::open_existing || disp == Disposition::truncate_existing) {
        log().debug("open missing leaf -> ERROR_FILE_NOT_FOUND(2)");
        return Win32Error::ERROR_FILE_NOT_FOUND;
    }
    if (l.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    OpenedLeaf leaf;
    const auto before = before_change(l.parent);
    leaf.fd.reset(open_beneath(l.parent.fd, l.requested.c_str(),
                               access_flags(request) | kOpenCommon | O_CREAT | O_EXCL, 0666));
    if (!leaf.fd.valid()) return fail(leaf.fd.get(), ErrnoContext::create_file);
    changed(l.parent, before, "", l.requested);
    leaf.new_attributes = (request.attributes & kStoredMask) | kAttrArchive;
    leaf.apply_attributes = leaf.new_attributes != kAttrArchive;  // ARCHIVE alone is the default
    return leaf;
}

std::u16string Root::real_path(const CePath& path, const Lookup& l) {
    if (path.is_root()) return format_path({});
    std::u16string out;
    const size_t n = path.components.size();
    for (size_t i = 0; i + 1 < n; ++i) {
        out += u'\\';
        out += l.parent.exact ? path.components[i] : l.parent.real[i];
    }
    out += u'\\';
    out += l.leaf_ce.empty() ? path.components[n - 1] : l.leaf_ce;
    return out;
}

Result<OpenedFile> Root::finish_open(const CePath& path, const Lookup& l, OpenedLeaf leaf) {
    const HostStat& st = leaf.st;
    if (!st.is_regular() && !st.is_dir()) return Win32Error::ERROR_ACCESS_DENIED;
    if (leaf.apply_attributes) {
        if (auto r = attrs_.set(leaf.fd.get(), st, leaf.new_attributes); !r) {
            if (!l.exists) ::unlinkat(l.parent.fd, l.requested.c_str(), 0);
            return r.error();
        }
    }
    OpenedFile out;
    out.nonblocking = true;  // dropped before the descriptor leaves the daemon
    out.existed = l.exists;
    out.is_directory = st.is_dir();
    out.id = id_of(st);
    out.ce_path = real_path(path, l);
    out.fd = std::move(leaf.fd);
    return out;
}

}  // namespace cek::fsys
