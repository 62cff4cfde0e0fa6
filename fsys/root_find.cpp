// Root: FindFirstFileW / FindNextFileW's matches, all at once, sorted by folded name.
#include <algorithm>
#include <cerrno>
#include <utility>

#include "fsys/fold.h"
#include "fsys/log.h"
#include "fsys/pattern.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

Result<FindEntry> Root::make_entry(int dirfd, const std::string& host, std::u16string name,
                                   const HostStat& st) {
    FindEntry e;
    CEK_TRY(e.attributes, attributes_of(dirfd, host, st));
    e.name = std::move(name);
    e.size = st.is_dir() ? 0 : st.size;
    e.times = times_of(st);
    return e;
}

Result<std::vector<FindEntry>> Root::find_files(std::u16string_view pattern) {
    CEK_TRY(CePath parsed, parse_path(pattern, PathKind::pattern));
    if (parsed.is_root()) return Win32Error::ERROR_FILE_NOT_FOUND;
    const std::u16string& last = parsed.components.back();
    std::vector<FindEntry> out;

    if (!has_wildcards(last)) {
        auto l = lookup(parsed);
        if (!l && l.error() == Win32Error::ERROR_ACCESS_DENIED) {
            return Win32Error::ERROR_FILE_NOT_FOUND;  // a symlink: not listed, so not found
        }
        if (!l) return l.error();
        if (!l->exists || (!l->st.is_regular() && !l->st.is_dir())) {
            return Win32Error::ERROR_FILE_NOT_FOUND;
        }
        CEK_TRY(FindEntry e, make_entry(l->parent.fd, l->leaf, l->real.back(), l->st));
        out.push_back(std::move(e));
        return out;
    }

    CEK_TRY(Walk dir, walk_dirs(parsed, parsed.components.size() - 1));
    std::vector<std::string> names;
    if (const int rc = list_dir(dir.fd, names); rc < 0) return fail(rc, ErrnoContext::parent);
    const std::u16string folded_pattern = fold(last);
    std::vector<std::pair<std::u16string, FindEntry>> found;
    for (const auto& host : names) {
        if (is_reserved_host_name(host)) continue;
        auto wide = from_utf8(host);
        if (!wide || !is_addressable_name(*wide)) continue;
        std::u16string folded = fold(*wide);
        if (!match_pattern(folded_pattern, folded)) continue;
        HostStat st;
        if (const int rc = stat_at(dir.fd, host.c_str(), st); rc < 0) {
            if (rc == -ENOENT) continue;  // removed while listing
            return fail(rc, ErrnoContext::leaf);
        }
        if (!st.is_regular() && !st.is_dir()) continue;
        auto entry = make_entry(dir.fd, host, std::move(*wide), st);
        if (!entry) {
            log().debug("find skips unreadable entry name='{}'", host);
            continue;
        }
        found.emplace_back(std::move(folded), std::move(entry).value());
    }
    if (found.empty()) return Win32Error::ERROR_FILE_NOT_FOUND;
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first < b.first;
        return a.second.name < b.second.name;
    });
    out.reserve(found.size());
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
}

}  // namespace cek::fsys
