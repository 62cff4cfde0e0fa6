// The folded-name cache behind case-insensitive lookup and searches: per directory, the sorted
// set of (folded name, real host name), built by one readdir and reused while the directory looks
// unchanged. Changes fsys makes itself update a cached listing in place (update()), so filling a
// directory through the store reads it once, not once per new entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <list>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

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
        uint64_t builds = 0;   // directory reads
        uint64_t updates = 0;  // listings updated in place after a change fsys made
    };
    // One listed name. Ordered by folded name, then host bytes: FindFirstFileW's order.
    struct Name {
        std::u16string folded;
        std::string host;
        bool operator<(const Name& o) const {
            return folded != o.folded ? folded < o.folded : host < o.host;
        }
    };
    // A directory's addressable, unreserved names; several host names may fold alike.
    using Listing = std::set<Name>;

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

    // Without reading the directory: nullopt unless a listing of it is fully trusted now (held,
    // its times unchanged and finer than a second, read outside the racy window and not updated
    // in place since); else whether it holds a name whose folded form is `folded`. A lookup
    // that is told no skips its exact-case statx.
    std::optional<bool> known_presence(const HostStat& dir_st, std::u16string_view folded);

    // The whole listing of `dirfd` (current stat `dir_st`), read on the same terms as find().
    // Valid until the next call on this cache.
    Result<const Listing*> listing(int dirfd, const HostStat& dir_st);

    // fsys changed directory `after` (its stat now) itself: host name `removed` left it and
    // `added` appeared (either may be empty; reserved and unaddressable names are ignored).
    // `before` is the directory's stat taken just before the change. A listing that was current
    // at `before` is updated in place and stamped with `after`; any other is dropped. A host
    // change made in the same timestamp tick right after fsys's own change is not seen until the
    // directory changes again (docs/fsys.md).
    void update(const HostStat& before, const HostStat& after, std::string_view removed,
                std::string_view added);

    // Drops what is known about a directory.
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
        bool racy = false;     // read within the window after a change: may miss a second one
        bool updated = false;  // fsys changed the directory since the listing was read
        bool fine = false;     // the directory's times have sub-second parts (not FAT, ext2/3)
        Listing names;
    };
    struct KeyHash {
        size_t operator()(const std::pair<uint64_t, uint64_t>& k) const {
            return std::hash<uint64_t>{}(k.first * 0x9E3779B97F4A7C15ULL ^ k.second);
        }
    };
    using Lru = std::list<Entry>;

    // The current entry of the directory, read again when it looks changed.
    Result<Lru::iterator> current(int dirfd, const HostStat& dir_st);
    Result<Lru::iterator> build(int dirfd, const HostStat& dir_st);
    // The name CE sees for host name `host`, or nullopt for a reserved or unaddressable one.
    static std::optional<Name> listed_name(std::string_view host);
    void evict_over_limits();
    void warn_collision_once(const Entry& e, const Name& a, const Name& b);

    Limits limits_;
    Stats stats_;
    Lru lru_;  // front = most recently used
    std::unordered_map<std::pair<uint64_t, uint64_t>, Lru::iterator, KeyHash> index_;
    size_t total_names_ = 0;
    std::unordered_set<size_t> warned_;  // collisions already reported, bounded
};

}  // namespace cek::fsys
