// Root: FindFirstFileW / FindNextFileW. A search walks its folder's cached listing (dir_cache.h),
// already sorted by folded name, from the last name it looked at: it holds no copy of the
// listing, and each step costs a lookup in that listing plus the entries it returns.
#include <algorithm>
#include <cerrno>
#include <utility>

#include "fsys/fold.h"
#include "fsys/log.h"
#include "fsys/pattern.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

namespace {

// The literal start every match of a folded pattern has ("README" for "README.*": a name with
// no dot matches that too), so that a search can skip straight to it.
std::u16string_view literal_prefix(std::u16string_view pattern) {
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == u".*")
        pattern.remove_suffix(2);
    return pattern.substr(0, std::min(pattern.find_first_of(u"*?"), pattern.size()));
}

}  // namespace

size_t FindCursor::memory_bytes() const {
    size_t bytes = sizeof(*this) + (pattern.capacity() + last_folded.capacity()) * 2 +
                   last_host.capacity() + dir.capacity() * sizeof(std::u16string);
    for (const auto& c : dir) bytes += c.capacity() * 2;
    return bytes;
}

Result<FindEntry> Root::make_entry(int dirfd, const std::string& host, std::u16string name,
                                   const HostStat& st) {
    FindEntry e;
    CEK_TRY(e.attributes, attributes_of(dirfd, host, st));
    e.name = std::move(name);
    e.size = st.is_dir() ? 0 : st.size;
    e.times = times_of(st);
    return e;
}

Result<FindCursor> Root::find_start(std::u16string_view pattern) {
    CEK_TRY(CePath parsed, parse_path(pattern, PathKind::pattern));
    if (parsed.is_root()) return Win32Error::ERROR_FILE_NOT_FOUND;
    FindCursor c;
    c.pattern = std::move(parsed.components.back());
    parsed.components.pop_back();
    c.dir = std::move(parsed.components);
    c.wildcards = has_wildcards(c.pattern);
    if (c.wildcards) {
        c.pattern = fold(c.pattern);
        // The folder must be there now: a missing one is PATH_NOT_FOUND, not an empty search.
        CEK_TRY_VOID(walk_dirs(CePath{c.dir}, c.dir.size()));
    }
    return c;
}

Result<size_t> Root::find_more(FindCursor& c, std::vector<FindEntry>& out, size_t max) {
    if (c.done || max == 0) return size_t{0};
    auto found = c.wildcards ? find_matching(c, out, max) : find_named(c, out);
    if (!found) {
        c.done = true;
        // Once entries were listed, a folder that went away only ends the search.
        if (c.started) return size_t{0};
    }
    c.started = true;
    return found;
}

Result<size_t> Root::find_named(FindCursor& c, std::vector<FindEntry>& out) {
    c.done = true;
    CePath path{c.dir};
    path.components.push_back(c.pattern);
    auto l = lookup(path);
    if (!l && l.error() == Win32Error::ERROR_ACCESS_DENIED) {
        return Win32Error::ERROR_FILE_NOT_FOUND;  // a symlink: not listed, so not found
    }
    if (!l) return l.error();
    if (!l->exists || (!l->st.is_regular() && !l->st.is_dir())) {
        return Win32Error::ERROR_FILE_NOT_FOUND;
    }
    std::u16string name = l->leaf_ce.empty() ? std::move(path.components.back()) : l->leaf_ce;
    CEK_TRY(FindEntry e, make_entry(l->parent.fd, l->leaf, std::move(name), l->st));
    out.push_back(std::move(e));
    return size_t{1};
}

Result<size_t> Root::find_matching(FindCursor& c, std::vector<FindEntry>& out, size_t max) {
    CEK_TRY(Walk dir, walk_dirs(CePath{c.dir}, c.dir.size()));
    CEK_TRY(const HostStat* dir_st, dir_stat(dir));
    CEK_TRY(const DirCache::Listing* names, cache_.listing(dir.fd, *dir_st));
    const std::u16string_view prefix = literal_prefix(c.pattern);
    auto it = names->lower_bound(DirCache::Name{std::u16string(prefix), std::string()});
    if (c.started && it != names->end()) {
        auto resume = names->upper_bound(DirCache::Name{c.last_folded, c.last_host});
        if (resume == names->end() || *it < *resume) it = resume;
    }
    size_t added = 0;
    for (; it != names->end() && added < max; ++it) {
        if (!std::u16string_view(it->folded).starts_with(prefix)) {
            it = names->end();
            break;
        }
        c.last_folded = it->folded;
        c.last_host = it->host;
        if (!match_pattern(c.pattern, it->folded)) continue;
        HostStat st;
        if (const int rc = stat_at(dir.fd, it->host.c_str(), st); rc < 0) {
            if (rc == -ENOENT) continue;  // removed behind the store's back
            return fail(rc, ErrnoContext::leaf);
        }
        if (!st.is_regular() && !st.is_dir()) continue;
        auto wide = from_utf8(it->host);  // the listing holds valid, addressable names only
        auto entry = make_entry(dir.fd, it->host, std::move(*wide), st);
        if (!entry) {
            log().debug("find skips unreadable entry name='{}'", it->host);
            continue;
        }
        out.push_back(std::move(entry).value());
        ++added;
    }
    if (it == names->end()) c.done = true;
    if (added == 0 && !c.started) return Win32Error::ERROR_FILE_NOT_FOUND;
    return added;
}

Result<std::vector<FindEntry>> Root::find_files(std::u16string_view pattern) {
    CEK_TRY(FindCursor c, find_start(pattern));
    std::vector<FindEntry> out;
    for (;;) {
        CEK_TRY(size_t n, find_more(c, out, 64));
        if (n == 0) break;
    }
    if (out.empty()) return Win32Error::ERROR_FILE_NOT_FOUND;
    return out;
}

}  // namespace cek::fsys
