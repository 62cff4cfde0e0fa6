// Change notification for the directories DirFds keeps open, so that a lookup through them can
// skip the statx that proves a directory is still where it was and unchanged (docs/fsys.md,
// "Watched directories"; decision 0014).
//
// Linux queues an inotify event inside the system call that makes a change, before that call
// returns. So once quiet() has read the queue empty, every change made before that moment to a
// watched directory (an entry created, removed or renamed in it, or the directory itself removed
// or renamed) has been seen, and a directory checked by a statx after that moment keeps the
// identity and the entries the statx found until quiet() reports an event. Its mode, owner
// and times are not watched (decision 0014). Where that chain cannot be kept (inotify or /proc
// unavailable, a file system whose changes may come from elsewhere), the watch is off and
// every lookup takes its statx as before.
//
// The instance belongs to the process that made it: a child forked after Root::open would share
// the queue (the daemon forks before it opens the store, and spawns by exec).
#pragma once

#include <unordered_map>

#include "fsys/unique_fd.h"

namespace cek::fsys {

class DirWatch {
public:
    // Watches `root_fd` (the store root) when `enable` and the root's file system is a local
    // one (ext2/3/4, XFS, Btrfs, tmpfs); off otherwise.
    DirWatch(int root_fd, bool enable);

    bool on() const { return fd_.valid(); }

    // Watches directory `fd` as well: its watch descriptor, or -1 when it cannot be watched
    // (the per-user watch limit, a directory the daemon may not read); such a directory, and
    // everything below it, is never trusted without a statx.
    int add(int fd);
    // The caller no longer needs watch `wd` (from add); the last user removes it.
    void release(int wd);

    // Reads every queued event. True when nothing changed in a watched directory since the last
    // call; false when something did, when the queue overflowed, or when the watch is off.
    bool quiet();

private:
    UniqueFd fd_;  // the inotify instance: invalid when off
    std::unordered_map<int, int> users_;  // watch descriptor -> entries using it
};

}  // namespace cek::fsys
