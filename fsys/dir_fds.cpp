#include "fsys/dir_fds.h"

#include <fcntl.h>

namespace cek::fsys {

DirFds::Fd DirFds::open(int parent, const std::string& key, const char* name, HostStat& st) {
    if (stat_at(parent, name, st) != 0 || !st.is_dir()) return nullptr;
    auto found = entries_.find(key);
    if (found != entries_.end()) {
        if (found->second.dev == st.dev && found->second.ino == st.ino) {
            ++stats_.hits;
            return found->second.fd;
        }
        ++stats_.stale;
        entries_.erase(found);
    }
    UniqueFd fd(open_beneath(parent, name, O_PATH | O_DIRECTORY));
    if (!fd.valid()) return nullptr;
    // Swapped between the statx and the open: report what was opened.
    if (stat_fd(fd.get(), st) != 0 || !st.is_dir()) return nullptr;
    if (entries_.size() >= kMaxEntries) entries_.clear();
    ++stats_.opens;
    Entry e{std::make_shared<const UniqueFd>(std::move(fd)), st.dev, st.ino};
    Fd out = e.fd;
    entries_.emplace(key, std::move(e));
    return out;
}

}  // namespace cek::fsys
