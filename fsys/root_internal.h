// Root's private pieces shared by its implementation files (root.cpp and root_*.cpp): the walk
// and lookup results, and small helpers. Not for use outside fsys.
#pragma once

#include <string>
#include <vector>

#include "fsys/errno_map.h"
#include "fsys/filetime.h"
#include "fsys/root.h"

namespace cek::fsys {

// The directories above a leaf, opened O_PATH one component at a time.
struct Root::Walk {
    UniqueFd owner;      // empty when the walk ended at the root or at a cached directory
    DirFds::Fd shared;   // the cached directory's descriptor, kept open while the walk lives
    int fd = -1;
    HostStat st;         // valid only when st_known (the fast path skips it); see dir_stat
    bool st_known = true;
    // st shows the directory's identity and (by its mtime/ctime stamp) its entries as they are:
    // read by this walk, or from a watched directory no event touched since (not the root's,
    // which is as at start). Its mode, owner and times may have moved: nothing reads them here.
    bool st_fresh = false;
    bool exact = false;  // every component was found as spelled (the root, or the fast path)
    bool watched = false;  // walk_cached: every level watched, proven since the queue was read
    std::vector<std::u16string> real;  // when !exact: the canonical components in real case
};

// One name looked up in one directory.
struct Root::Child {
    bool exists = false;
    std::string host;   // real host name when it exists
    std::u16string ce;  // when it exists in another spelling, its name in real case; else empty
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
    std::u16string leaf_ce;    // when it exists in another spelling, its name in real case
};

// MoveFile's and CopyFile's source and target, from lookup_transfer.
struct Root::Transfer {
    Lookup src;
    Lookup dst;
};

// A negative errno from a host wrapper as the Win32 error it means in `context`.
inline Win32Error fail(int neg_errno, ErrnoContext context) {
    return win32_from_errno(-neg_errno, context);
}

inline FileTimes times_of(const HostStat& st) {
    FileTimes t;
    t.creation = filetime_from_timespec(st.btime.value_or(st.mtime));
    t.last_access = filetime_from_timespec(st.atime);
    t.last_write = filetime_from_timespec(st.mtime);
    return t;
}

inline FileId id_of(const HostStat& st) { return FileId{st.dev, st.ino}; }

}  // namespace cek::fsys
