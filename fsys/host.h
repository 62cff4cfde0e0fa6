// Thin wrappers over the host system calls fsys uses, in errno style (negative errno on
// failure), so that callers choose the Win32 meaning with errno_map.h. Nothing here follows a
// symlink or resolves above the directory it is given.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cek::fsys {

// Host names starting with this (ASCII case-insensitively) belong to fsys itself: the sidecar
// attribute store and temporary copies. CE never sees, opens, creates or lists them.
inline constexpr std::string_view kReservedPrefix = ".cek~";
bool is_reserved_host_name(std::string_view name);
bool is_reserved_ce_name(std::u16string_view name);

struct HostStat {
    uint32_t mode = 0;
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint64_t size = 0;
    uint64_t nlink = 0;
    timespec atime{};
    timespec mtime{};
    timespec ctime{};
    std::optional<timespec> btime;  // birth time, when the file system reports one

    bool is_dir() const;
    bool is_regular() const;
    bool is_symlink() const;
};

// openat2(dirfd, rel, flags | O_CLOEXEC) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS. `dirfd` is the store root or a directory opened beneath
// it the same way, so ".." and absolute symlinks cannot leave the store. Returns fd or -errno.
int open_beneath(int dirfd, const char* rel, int flags, mode_t mode = 0);
// Clears O_NONBLOCK on the description of `fd`, a descriptor fsys opened (one fcntl; O_DSYNC and
// the access mode stay). Returns 0 or -errno.
int drop_nonblocking(int fd);

// statx of `name` in `dirfd` without following a final symlink (name must be one component;
// "" stats dirfd itself). Returns 0 or -errno.
int stat_at(int dirfd, const char* name, HostStat& out);
int stat_fd(int fd, HostStat& out);

// renameat2(RENAME_NOREPLACE) of single components. On EINVAL (a file system without
// RENAME_NOREPLACE, or a directory moved into itself) a plain renameat follows: the caller saw
// the target absent a moment ago, so it tells the two apart. Returns 0 or -errno.
int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to);

// The names in directory `dirfd` (an O_PATH descriptor is fine), without "." and "..".
// Returns 0 or -errno.
int list_dir(int dirfd, std::vector<std::string>& names);

// The host path an open descriptor names now (/proc/self/fd), or "" when it has none.
std::string host_path_of_fd(int fd);

}  // namespace cek::fsys
