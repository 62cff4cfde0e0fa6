#include "fsys/dir_fds.h"

#include <fcntl.h>

namespace cek::fsys {

DirFds::DirFds(int root_fd, bool watch) : watch_(root_fd, watch) {}

bool DirFds::begin_walk() {
    quiet_ = false;
    if (!watch_.on()) return false;
    quiet_ = watch_.quiet();
    if (!quiet_) ++epoch_;
    walk_epoch_ = epoch_;
    return true;
}

bool DirFds::known_regular(const std::string& path) const {
    return watch_.on() && known_epoch_ == epoch_ && known_files_.count(path) != 0;
}

void DirFds::note_regular(const std::string& path) {
    if (!watch_.on()) return;
    if (known_epoch_ != walk_epoch_ || known_files_.size() >= kMaxKnownFiles) {
        known_files_.clear();
        known_epoch_ = walk_epoch_;
    }
    known_files_.insert(path);
}

void DirFds::erase(std::unordered_map<std::string, Entry>::iterator it) {
    if (it->second.wd >= 0) watch_.release(it->second.wd);
    entries_.erase(it);
}

DirFds::Fd DirFds::open(int parent, const std::string& key, const char* name, HostStat& st,
                        bool& watched, bool cached_only) {
    auto found = entries_.find(key);
    if (cached_only && (found == entries_.end() || found->second.wd < 0)) return nullptr;
    if (found != entries_.end() && watched && found->second.wd >= 0 && watch_.on() &&
        found->second.epoch == epoch_) {
        ++stats_.hits;
        ++stats_.trusted;
        st = found->second.st;
        return found->second.fd;
    }
    if (stat_at(parent, name, st) != 0 || !st.is_dir()) return nullptr;
    // Trusted from the next walk on, unless an event comes first: this statx came after
    // begin_walk read the queue.
    if (found != entries_.end()) {
        if (found->second.st.dev == st.dev && found->second.st.ino == st.ino) {
            ++stats_.hits;
            found->second.st = st;
            found->second.epoch = walk_epoch_;
            watched = watched && found->second.wd >= 0;
            return found->second.fd;
        }
        ++stats_.stale;
        erase(found);
        ++epoch_;  // what was found below the old directory must be checked again too
    }
    UniqueFd fd(open_beneath(parent, name, O_PATH | O_DIRECTORY));
    if (!fd.valid()) return nullptr;
    if (entries_.size() >= kMaxEntries) {
        while (!entries_.empty()) erase(entries_.begin());
        ++epoch_;
    }
    // Watched before the stat it is trusted with, so that no change can fall between what that
    // stat shows and the first event queued (a rename of `name` itself is the parent's event).
    const int wd = watch_.add(fd.get());
    // Swapped between the statx and the open: report what was opened.
    if (stat_fd(fd.get(), st) != 0 || !st.is_dir()) {
        if (wd >= 0) watch_.release(wd);
        return nullptr;
    }
    ++stats_.opens;
    watched = watched && wd >= 0;
    Entry e{std::make_shared<const UniqueFd>(std::move(fd)), st, wd, walk_epoch_};
    Fd out = e.fd;
    entries_.emplace(key, std::move(e));
    return out;
}

}  // namespace cek::fsys
