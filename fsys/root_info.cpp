// Root: GetFileAttributesW / SetFileAttributesW by path and by descriptor, GetFileSize-style
// queries and Get/SetFileTime.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "fsys/log.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

Result<uint32_t> Root::get_attributes(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup_existing(parsed, true));
    return attributes_of(l.parent.fd, l.leaf, l.st);
}

Result<void> Root::set_attributes(std::u16string_view path, uint32_t attributes) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup_existing(parsed, false));
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

namespace {

FileInfo info_of(const HostStat& st, uint32_t attributes) {
    FileInfo info;
    info.attributes = attributes;
    info.size = st.is_dir() ? 0 : st.size;
    info.links = st.nlink;
    info.times = times_of(st);
    info.id = id_of(st);
    return info;
}

}  // namespace

Result<FileInfo> Root::query(int fd) {
    HostStat st;
    if (const int rc = stat_fd(fd, st); rc < 0) return fail(rc, ErrnoContext::leaf);
    CEK_TRY(uint32_t attributes, attrs_.get(fd, st));
    return info_of(st, attributes);
}

Result<FileInfo> Root::path_info(std::u16string_view path) {
    CEK_TRY(CePath parsed, parse_path(path));
    CEK_TRY(Lookup l, lookup_existing(parsed, true));
    if (parsed.is_root()) {  // the lookup gives the root's stat as it was at start
        if (const int rc = stat_fd(root_fd_.get(), l.st); rc < 0) {
            return fail(rc, ErrnoContext::leaf);
        }
    }
    if (!l.st.is_regular() && !l.st.is_dir()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(uint32_t attributes, attributes_of(l.parent.fd, l.leaf, l.st));
    return info_of(l.st, attributes);
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

}  // namespace cek::fsys
