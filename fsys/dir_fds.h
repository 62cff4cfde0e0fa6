// Descriptors of the directories near the root that lookups walk through again and again
// (\Temp, \My Documents\App), so that finding a file's directory costs one statx per level
// instead of an openat2 and a close (docs/fsys.md, "Directory descriptors").
//
// Each entry is an O_PATH descriptor opened the confined way, keyed by its path from the root as
// spelled, with the (dev, ino) it had. An entry is used only after a statx of that name in its
// parent (no symlink followed) shows the same (dev, ino) there now: the descriptor keeps its
// inode alive, so no other directory can take that number while the entry exists, and a
// directory renamed, removed or replaced by the host is never used through its old path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

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
        uint64_t opens = 0;   // descriptors opened and kept
        uint64_t stale = 0;   // entries found replaced on the host and dropped
    };

    // The directory `name` inside `parent` (a descriptor from this cache, or the root), whose
    // path from the root is `key`: its descriptor, with its statx in `st`. Null when it is not
    // a directory that can be opened the confined way (the caller's ordinary walk then tells
    // why); `st` is then unspecified.
    Fd open(int parent, const std::string& key, const char* name, HostStat& st);

    const Stats& stats() const { return stats_; }

private:
    struct Entry {
        Fd fd;
        uint64_t dev = 0;
        uint64_t ino = 0;
    };
    std::unordered_map<std::string, Entry> entries_;
    Stats stats_;
};

}  // namespace cek::fsys
