#include "fsys/host.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>

#include "fsys/fold.h"
#include "fsys/unique_fd.h"

namespace cek::fsys {

bool is_reserved_host_name(std::string_view name) {
    if (name.size() < kReservedPrefix.size()) return false;
    for (size_t i = 0; i < kReservedPrefix.size(); ++i) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kReservedPrefix[i]) return false;
    }
    return true;
}

bool is_reserved_ce_name(std::u16string_view name) {
    if (name.size() < kReservedPrefix.size()) return false;
    for (size_t i = 0; i < kReservedPrefix.size(); ++i) {
        const char16_t want = fold_char(static_cast<char16_t>(kReservedPrefix[i]));
        if (fold_char(name[i]) != want) return false;
    }
    return true;
}

bool HostStat::is_dir() const { return S_ISDIR(mode); }
bool HostStat::is_regular() const { return S_ISREG(mode); }
bool HostStat::is_symlink() const { return S_ISLNK(mode); }

int open_beneath(int dirfd, const char* rel, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS;
    long fd;
    do {
        fd = ::syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    } while (fd < 0 && errno == EINTR);  // also EAGAIN is only for RESOLVE_CACHED, unused
    return fd < 0 ? -errno : static_cast<int>(fd);
}

int drop_nonblocking(int fd) {
    // F_SETFL sets O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK, and leaves the access
    // mode and O_DSYNC alone: fsys sets none of the others, so 0 clears O_NONBLOCK alone.
    return ::fcntl(fd, F_SETFL, 0) == 0 ? 0 : -errno;
}

namespace {

void fill(const struct statx& sx, HostStat& out) {
    out.mode = sx.stx_mode;
    out.dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    out.ino = sx.stx_ino;
    out.size = sx.stx_size;
    out.nlink = sx.stx_nlink;
    out.atime = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
    out.mtime = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
    out.ctime = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
    if ((sx.stx_mask & STATX_BTIME) != 0) {
        out.btime = timespec{sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec};
    } else {
        out.btime.reset();
    }
}

}  // namespace

int stat_at(int dirfd, const char* name, HostStat& out) {
    struct statx sx{};
    const int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (*name == '\0' ? AT_EMPTY_PATH : 0);
    if (::statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return -errno;
    fill(sx, out);
    return 0;
}

int stat_fd(int fd, HostStat& out) { return stat_at(fd, "", out); }

int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to) {
    if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL) return -errno;
    return ::renameat(from_dir, from, to_dir, to) == 0 ? 0 : -errno;
}

int list_dir(int dirfd, std::vector<std::string>& names) {
    // Reopen for reading: the caller's descriptor may be O_PATH, and fdopendir takes ownership.
    const int fd = open_beneath(dirfd, ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fd;
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const int err = errno;
        ::close(fd);
        return -err;
    }
    names.clear();
    errno = 0;
    while (const dirent* ent = ::readdir(dir)) {
        const std::string_view name = ent->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
        errno = 0;
    }
    const int err = errno;
    ::closedir(dir);
    return -err;
}

std::string host_path_of_fd(int fd) {
    char buf[PATH_MAX];
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace cek::fsys
