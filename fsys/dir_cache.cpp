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

Result<std::optional<std::string>> DirCache::find(int dirfd, const HostStat& dir_st,
                                                  std::u16string_view folded) {
    ++stats_.lookups;
    const auto key = std::make_pair(dir_st.dev, dir_st.ino);
    Lru::iterator it;
    auto found = index_.find(key);
    if (found != index_.end() && !found->second->racy &&
        same_time(found->second->mtime, dir_st.mtime) &&
        same_time(found->second->ctime, dir_st.ctime)) {
        it = found->second;
        lru_.splice(lru_.begin(), lru_, it);
    } else {
        CEK_TRY(it, build(dirfd, dir_st));
    }
    auto name = it->names.find(std::u16string(folded));
    if (name == it->names.end()) return std::optional<std::string>{};
    return std::optional<std::string>{name->second};
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

    std::vector<std::string> host_names;
    if (const int rc = list_dir(dirfd, host_names); rc < 0) {
        return win32_from_errno(-rc, ErrnoContext::parent);
    }
    e.names.reserve(host_names.size());
    for (auto& host : host_names) {
        if (is_reserved_host_name(host)) continue;
        auto wide = from_utf8(host);
        if (!wide || !is_addressable_name(*wide)) continue;
        auto folded = fold(*wide);
        auto [slot, inserted] = e.names.try_emplace(std::move(folded), host);
        if (!inserted) {
            warn_collision_once(e, slot->first, slot->second, host);
            if (host < slot->second) slot->second = std::move(host);
        }
    }
    total_names_ += e.names.size();
    lru_.push_front(std::move(e));
    index_[{dir_st.dev, dir_st.ino}] = lru_.begin();
    evict_over_limits();
    return lru_.begin();
}

void DirCache::warn_collision_once(const Entry& e, const std::u16string& folded,
                                   const std::string& a, const std::string& b) {
    const size_t h = std::hash<std::u16string>{}(folded) ^ (e.ino * 0x9E3779B97F4A7C15ULL) ^ e.dev;
    if (warned_.size() >= kMaxWarned || !warned_.insert(h).second) return;
    log().warn("names fold alike dir_ino={} a='{}' b='{}' using='{}'", e.ino, a, b, std::min(a, b));
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
