// Root: CopyFileW. The data (only the source's extents, so sparse files stay sparse), the times
// and the attributes go into a hidden temporary beside the target, which is then renamed into
// place: the target never appears half-written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "fsys/root_internal.h"

namespace cek::fsys {

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
    CEK_TRY(Transfer t, lookup_transfer(from, to, false));
    Lookup& src = t.src;
    Lookup& dst = t.dst;
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
        rc = rename_noreplace(dst.parent.fd, temp.c_str(), dst.parent.fd, dst.requested.c_str());
        if (rc == -EEXIST) return abandon(Win32Error::ERROR_FILE_EXISTS);
    } else {
        // Replace the existing entry under its own (real-case) name, not a second spelling.
        rc = ::renameat(dst.parent.fd, temp.c_str(), dst.parent.fd, dst.leaf.c_str());
        if (rc != 0) rc = -errno;
    }
    if (rc < 0) return abandon(fail(rc, ErrnoContext::leaf));
    if (dst.exists) attrs_.forget(dst.st);
    changed(dst.parent);
    return {};
}

}  // namespace cek::fsys
