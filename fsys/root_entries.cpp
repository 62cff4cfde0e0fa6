// Root: changes to directory entries other than creating files: DeleteFileW, MoveFileW,
// CreateDirectoryW and RemoveDirectoryW.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fsys/fold.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

Result<void> Root::delete_file(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup_existing(parsed, false));
    if (!l.st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(uint32_t attrs, attributes_of(l.parent.fd, l.leaf, l.st));
    if ((attrs & kAttrReadonly) != 0) return Win32Error::ERROR_ACCESS_DENIED;
    const auto before = before_change(l.parent);
    if (::unlinkat(l.parent.fd, l.leaf.c_str(), 0) != 0) {
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
    attrs_.forget(l.st);
    changed(l.parent, before, l.leaf, "");
    return {};
}

Result<void> Root::move_file(std::u16string_view from, std::u16string_view to) {
    CEK_TRY(Transfer t, lookup_transfer(from, to, true));
    Lookup& src = t.src;
    Lookup& dst = t.dst;
    if (dst.exists) {
        CEK_TRY(const HostStat* src_dir, dir_stat(src.parent));
        CEK_TRY(const HostStat* dst_dir, dir_stat(dst.parent));
        const bool same_entry = id_of(dst.st) == id_of(src.st) &&
                                id_of(*dst_dir) == id_of(*src_dir) && dst.leaf == src.leaf;
        if (!same_entry) return Win32Error::ERROR_ALREADY_EXISTS;
        if (dst.requested == src.leaf) return {};  // renaming onto itself, same case
        // A case-only rename: the new spelling does not exist on the host, so NOREPLACE holds.
    }
    const auto src_before = before_change(src.parent);
    const auto dst_before = before_change(dst.parent);
    const int rc = rename_noreplace(src.parent.fd, src.leaf.c_str(), dst.parent.fd,
                                    dst.requested.c_str());
    if (rc < 0) return fail(rc, ErrnoContext::rename);
    if (src_before && dst_before && id_of(*src_before) == id_of(*dst_before)) {
        changed(src.parent, src_before, src.leaf, dst.requested);  // within one directory
    } else {
        changed(src.parent, src_before, src.leaf, "");
        changed(dst.parent, dst_before, "", dst.requested);
    }
    if (src.st.is_dir()) cache_.invalidate(src.st.dev, src.st.ino);
    return {};
}

Result<void> Root::create_directory(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    if (parsed.is_root()) return Win32Error::ERROR_ALREADY_EXISTS;
    CEK_TRY(Lookup l, lookup(parsed));
    if (l.exists) return Win32Error::ERROR_ALREADY_EXISTS;
    if (l.reserved) return Win32Error::ERROR_ACCESS_DENIED;
    const auto before = before_change(l.parent);
    if (::mkdirat(l.parent.fd, l.requested.c_str(), 0777) != 0) {
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
    changed(l.parent, before, "", l.requested);
    return {};
}

Result<void> Root::remove_directory(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup_existing(parsed, false));
    if (!l.st.is_dir()) return Win32Error::ERROR_DIRECTORY;
    CEK_TRY(uint32_t attrs, attributes_of(l.parent.fd, l.leaf, l.st));
    const bool top_level = parsed.components.size() == 1;
    if ((attrs & kAttrReadonly) != 0 ||
        (top_level && ((attrs & kAttrTemporary) != 0 ||
                       equal_folded(parsed.components[0], u"Windows")))) {
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    const auto before = before_change(l.parent);
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
    changed(l.parent, before, l.leaf, "");
    return {};
}

}  // namespace cek::fsys
