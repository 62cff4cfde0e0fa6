#include "fsys/dir_cache.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "fsys/errno_map.h"
#include "fsys/fold.h"
#include "fsys/log.h"
#include "fsys/path.h"

namespace cek::fsys {

namespace {

// Longer than the coarsest timestamp tick a Linux file system uses (10 ms at HZ=100).
constexpr int64_t kRacyWindowNs = 20'000'000;
constexpr size_t kMaxWarned = 4096;

// Saturating: a client can set a directory's write time anywhere in FILETIME's range (SetFileTime
// on a directory handle), far past the year 2262 where nanoseconds leave an int64.
int64_t to_ns(const timespec& ts) {
    constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
    if (ts.tv_sec > kLimit) return std::numeric_limits<int64_t>::max();
    if (ts.tv_sec < -kLimit) return std::numeric_limits<int64_t>::min();
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
bool same_time(const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}
// Whole seconds in both times: a file system with coarse timestamps (FAT, ext2/3, small ext4
// inodes), where two changes a second apart can leave them equal; never trusted for absence.
bool fine_times(const HostStat& st) { return st.mtime.tv_nsec != 0 || st.ctime.tv_nsec != 0; }

// A listing that fsys updated in place is read again once the directory is quiet, so that
// known_presence can trust it, only when that is cheap: a directory of at most this many names.
// A larger one keeps the listing (a fill through the store reads it once).
constexpr size_t kRereadNames = 1024;

// The first host name of that folded form (the bytewise smallest), or null.
const DirCache::Name* first_folded(const DirCache::Listing& names, std::u16string_view folded) {
    auto name = names.lower_bound(DirCache::Name{std::u16string(folded), std::string()});
    return name != names.end() && name->folded == folded ? &*name : nullptr;
}

// A listing read this soon after the directory changed may miss a change made in the same
// timestamp tick, which would leave mtime/ctime as they are.
bool is_racy(const HostStat& dir_st) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const int64_t changed = std::max(to_ns(dir_st.mtime), to_ns(dir_st.ctime));
    return changed > to_ns(now) - kRacyWindowNs;  // also when the clock is behind the file system
}

}  // namespace

DirCache::DirCache(Limits limits) : limits_(limits) {}

Result<DirCache::Lru::iterator> DirCache::current(int dirfd, const HostStat& dir_st) {
    auto found = index_.find(std::make_pair(dir_st.dev, dir_st.ino));
    // A racy listing is read again on use, except while fsys itself keeps changing the
    // directory (a fill): it is then read again once the directory has been quiet for the window.
    // A small one that fsys updated is read again once quiet too, so that a host change in the
    // same tick as one of fsys's is seen and known_presence can trust the listing.
    if (found != index_.end() && same_time(found->second->mtime, dir_st.mtime) &&
        same_time(found->second->ctime, dir_st.ctime)) {
        const Entry& e = *found->second;
        const bool reread_once_quiet =
            e.racy || (e.updated && e.fine && e.names.size() <= kRereadNames);
        if (!reread_once_quiet || (e.updated && is_racy(dir_st))) {
            lru_.splice(lru_.begin(), lru_, found->second);
            return found->second;
        }
    }
    return build(dirfd, dir_st);
}

Result<std::optional<std::string>> DirCache::find(int dirfd, const HostStat& dir_st,
                                                  std::u16string_view folded) {
    ++stats_.lookups;
    CEK_TRY(Lru::iterator it, current(dirfd, dir_st));
    const Name* name = first_folded(it->names, folded);
    if (name == nullptr) return std::optional<std::string>{};
    return std::optional<std::string>{name->host};
}

std::optional<bool> DirCache::known_presence(const HostStat& dir_st, std::u16string_view folded) {
    auto found = index_.find(std::make_pair(dir_st.dev, dir_st.ino));
    if (found == index_.end() || found->second->racy || found->second->updated ||
        !found->second->fine ||
        !same_time(found->second->mtime, dir_st.mtime) ||
        !same_time(found->second->ctime, dir_st.ctime)) {
        return std::nullopt;
    }
    ++stats_.lookups;
    lru_.splice(lru_.begin(), lru_, found->second);
    return first_folded(found->second->names, folded) != nullptr;
}

Result<const DirCache::Listing*> DirCache::listing(int dirfd, const HostStat& dir_st) {
    CEK_TRY(Lru::iterator it, current(dirfd, dir_st));
    return &it->names;
}

std::optional<DirCache::Name> DirCache::listed_name(std::string_view host) {
    if (host.empty() || is_reserved_host_name(host)) return std::nullopt;
    auto wide = from_utf8(host);
    if (!wide || !is_addressable_name(*wide)) return std::nullopt;
    return Name{fold(*wide), std::string(host)};
}

Result<DirCache::Lru::iterator> DirCache::build(int dirfd, const HostStat& dir_st) {
    ++stats_.builds;
    invalidate(dir_st.dev, dir_st.ino);
    Entry e;
    e.dev = dir_st.dev;
    e.ino = dir_st.ino;
    e.mtime = dir_st.mtime;
    e.ctime = dir_st.ctime;
    e.racy = is_racy(dir_st);
    e.fine = fine_times(dir_st);

    std::vector<std::string> host_names;
    if (const int rc = list_dir(dirfd, host_names); rc < 0) {
        return win32_from_errno(-rc, ErrnoContext::parent);
    }
    const Name* previous = nullptr;
    for (auto& host : host_names) {
        auto name = listed_name(host);
        if (name) e.names.insert(std::move(*name));
    }
    for (const Name& n : e.names) {
        if (previous != nullptr && previous->folded == n.folded) warn_collision_once(e, *previous, n);
        previous = &n;
    }
    total_names_ += e.names.size();
    lru_.push_front(std::move(e));
    index_[{dir_st.dev, dir_st.ino}] = lru_.begin();
    evict_over_limits();
    return lru_.begin();
}

void DirCache::update(const HostStat& before, const HostStat& after, std::string_view removed,
                      std::string_view added) {
    auto found = index_.find(std::make_pair(after.dev, after.ino));
    if (found == index_.end()) return;
    Entry& e = *found->second;
    // Only a listing that was current when the change began can take it.
    if (before.dev != after.dev || before.ino != after.ino || !same_time(e.mtime, before.mtime) ||
        !same_time(e.ctime, before.ctime)) {
        invalidate(after.dev, after.ino);
        return;
    }
    ++stats_.updates;
    if (auto name = listed_name(removed)) total_names_ -= e.names.erase(*name);
    if (auto name = listed_name(added)) {
        auto [at, inserted] = e.names.insert(std::move(*name));
        if (inserted) {
            ++total_names_;
            if (at != e.names.begin() && std::prev(at)->folded == at->folded)
                warn_collision_once(e, *std::prev(at), *at);
        }
    }
    e.mtime = after.mtime;
    e.ctime = after.ctime;
    e.fine = e.fine && fine_times(after);
    e.updated = true;
}

void DirCache::warn_collision_once(const Entry& e, const Name& a, const Name& b) {
    const size_t h = std::hash<std::u16string>{}(a.folded) ^ (e.ino * 0x9E3779B97F4A7C15ULL) ^ e.dev;
    if (warned_.size() >= kMaxWarned || !warned_.insert(h).second) return;
    log().warn("names fold alike dir_ino={} a='{}' b='{}' using='{}'", e.ino, a.host, b.host,
               std::min(a.host, b.host));
}

void DirCache::evict_over_limits() {
    while (lru_.size() > 1 &&
           (lru_.size() > limits_.max_dirs || total_names_ > limits_.max_names)) {
        const Entry& victim = lru_.back();
        total_names_ -= victim.names.size();
        index_.erase({victim.dev, victim.ino});
        lru_.pop_back();
    }
}

void DirCache::invalidate(uint64_t dev, uint64_t ino) {
    auto found = index_.find({dev, ino});
    if (found == index_.end()) return;
    total_names_ -= found->second->names.size();
    lru_.erase(found->second);
    index_.erase(found);
}

void DirCache::clear() {
    lru_.clear();
    index_.clear();
    total_names_ = 0;
}

}  // namespace cek::fsys
