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
// The same holds for the regular files opened beneath watched directories: a name known as a
// regular file since the last event is opened without the statx that keeps fsys from opening a
// device or a FIFO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "fsys/dir_watch.h"
#include "fsys/host.h"
#include "fsys/unique_fd.h"

namespace cek::fsys {

class DirFds {
public:
    // Shared, so that a walk still using a descriptor keeps it open when the cache lets it go.
    using Fd = std::shared_ptr<const UniqueFd>;

    static constexpr size_t kMaxEntries = 64;  // then all are dropped and the cache refills
    static constexpr size_t kMaxKnownFiles = 256;  // the same for the known regular files

    struct Stats {
        uint64_t hits = 0;
        uint64_t trusted = 0;  // of the hits: used without a statx (watched, nothing changed)
        uint64_t opens = 0;    // descriptors opened and kept
        uint64_t stale = 0;    // entries found replaced on the host and dropped
        uint64_t known_files = 0;  // opens of a file known as regular: no statx before them
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
    // `cached_only`: null at once, with no system call, unless the entry is cached and watched
    // (opens use the cache as they find it; they never add a directory to it).
    Fd open(int parent, const std::string& key, const char* name, HostStat& st, bool& watched,
            bool cached_only = false);

    // Whether the last begin_walk found no change event queued.
    bool quiet() const { return quiet_; }
    // Regular files by their path from the root as spelled ("Temp/a.txt"). A file noted in a
    // walk whose directories were all watched is known as regular until the next change event
    // in any watched directory: entries created, removed or renamed (the only ways a name
    // comes to another inode) all make one. Call known_regular after begin_walk, and
    // note_regular after the walk opened the file and its fstat showed a regular file.
    bool known_regular(const std::string& path) const;
    void note_regular(const std::string& path);
    void count_known_open() { ++stats_.known_files; }

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
    bool quiet_ = false;
    std::unordered_set<std::string> known_files_;
    uint64_t known_epoch_ = 0;  // the walk epoch known_files_ were noted in
    Stats stats_;
};

}  // namespace cek::fsys
