// The folded-name cache behind case-insensitive lookup: per directory, folded name -> real host
// name, built by one readdir and reused while the directory looks unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "fsys/host.h"
#include "common/result.h"

namespace cek::fsys {

class DirCache {
public:
    struct Limits {
        size_t max_dirs = 64;         // directories kept, least recently used evicted first
        size_t max_names = 1 << 18;   // names kept over all directories (soft: the newest stays)
    };
    struct Stats {
        uint64_t lookups = 0;
        uint64_t builds = 0;  // directory reads
    };

    explicit DirCache(Limits limits);
    DirCache() : DirCache(Limits{}) {}

    // The real name in directory `dirfd` (whose current stat is `dir_st`) whose folded form is
    // `folded`, or nullopt when the directory holds none. An entry is trusted while the
    // directory's (dev, ino, mtime, ctime) match, except within a short window after a change,
    // where a coarse timestamp could hide a second change; such entries are re-read on use.
    // Names that CE cannot address or that fsys reserves are never returned. When two host names
    // fold alike, the bytewise smallest wins (logged once at warn).
    Result<std::optional<std::string>> find(int dirfd, const HostStat& dir_st,
                                            std::u16string_view folded);

    // Drops what is known about a directory; fsys calls it after changing that directory.
    void invalidate(uint64_t dev, uint64_t ino);
    void clear();

    const Stats& stats() const { return stats_; }
    size_t cached_dirs() const { return lru_.size(); }

private:
    struct Entry {
        uint64_t dev = 0;
        uint64_t ino = 0;
        timespec mtime{};
        timespec ctime{};
        bool racy = false;
        std::unordered_map<std::u16string, std::string> names;
    };
    struct KeyHash {
        size_t operator()(const std::pair<uint64_t, uint64_t>& k) const {
            return std::hash<uint64_t>{}(k.first * 0x9E3779B97F4A7C15ULL ^ k.second);
        }
    };
    using Lru = std::list<Entry>;

    Result<Lru::iterator> build(int dirfd, const HostStat& dir_st);
    void evict_over_limits();
    void warn_collision_once(const Entry& e, const std::u16string& folded, const std::string& a,
                             const std::string& b);

    Limits limits_;
    Stats stats_;
    Lru lru_;  // front = most recently used
    std::unordered_map<std::pair<uint64_t, uint64_t>, Lru::iterator, KeyHash> index_;
    size_t total_names_ = 0;
    std::unordered_set<size_t> warned_;  // collisions already reported, bounded
};

}  // namespace cek::fsys
