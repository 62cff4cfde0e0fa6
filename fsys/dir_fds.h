// Descriptors of the directories near the root that lookups walk through again and again
// (\Temp, \My Documents\App), so that finding a file's directory costs one statx per level
// instead of an openat2 and a close (docs/fsys.md, "Directory descriptors").
//
// Each entry is an O_PATH descriptor opened the confined way, keyed by its path from the root as
// spelled, with the (dev, ino) it had. An entry is used only after a statx of that name in its
// parent (no symlink followed) shows the same (dev, ino) there now: the descriptor keeps its
// inode alive, so no other directory can take that number while the entry exists, and a
// directory renamed, removed or replaced by the host is never used through its old path.
//
// Where the store's file system allows it, the directories are also watched (DirWatch): an
// entry whose ancestors are all watched, checked by a statx since the last change event, is used
// without one, with the stat that statx gave, until the next event in any watched directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "fsys/dir_watch.h"
#include "fsys/host.h"
#include "fsys/unique_fd.h"

namespace cek::fsys {

class DirFds {
public:
    // Shared, so that a walk still using a descriptor keeps it open when the cache lets it go.
    using Fd = std::shared_ptr<const UniqueFd>;

    static constexpr size_t kMaxEntries = 64;  // then all are dropped and the cache refills

    struct Stats {
        uint64_t hits = 0;
        uint64_t trusted = 0;  // of the hits: used without a statx (watched, nothing changed)
        uint64_t opens = 0;    // descriptors opened and kept
        uint64_t stale = 0;    // entries found replaced on the host and dropped
    };

    // `root_fd`: the store root, the parent of the first level; `watch`: use DirWatch where the
    // file system allows it.
    DirFds(int root_fd, bool watch);

    // Starts a walk through the cache: reads the change events, and when there were any, every
    // entry needs a statx again. Call before the walk's first open(); its result is the
    // `watched` argument of the first open().
    bool begin_walk();

    // The directory `name` inside `parent` (a descriptor from this cache, or the root), whose
    // path from the root is `key`: its descriptor, with its statx in `st` (from the last check
    // when the entry is trusted). Null when it is not a directory that can be opened the
    // confined way (the caller's ordinary walk then tells why); `st` is then unspecified.
    // `watched`: in, whether `parent` and all above it are watched (an entry below an
    // unwatched directory is never trusted); out, the same for this directory.
    Fd open(int parent, const std::string& key, const char* name, HostStat& st, bool& watched);

    bool watching() const { return watch_.on(); }
    const Stats& stats() const { return stats_; }

private:
    struct Entry {
        Fd fd;
        HostStat st;          // as the last statx of it by name showed it
        int wd = -1;          // its DirWatch watch, -1 when unwatched
        uint64_t epoch = 0;   // trusted while equal to epoch_ (and watched, with its ancestors)
    };
    void erase(std::unordered_map<std::string, Entry>::iterator it);

    std::unordered_map<std::string, Entry> entries_;
    DirWatch watch_;
    // Bumped by every change event and every cache clean-up. A walk stamps what it checks with
    // the value it started with, so a clean-up in the middle of a walk (which drops watches and
    // their queued events) leaves nothing that walk checked trusted.
    uint64_t epoch_ = 1;
    uint64_t walk_epoch_ = 0;
    Stats stats_;
};

}  // namespace cek::fsys
