#include "fsys/dir_watch.h"

#include <sys/inotify.h>
#include <sys/vfs.h>

#include <cerrno>
#include <string>

#include "fsys/log.h"

namespace cek::fsys {

namespace {

// Entries appearing, leaving or renamed in the directory; the directory itself going. Not
// IN_ATTRIB: it would report the directory's files too, and for that Linux makes every read
// and write of a file in it look at the watch (a cached 4 KiB pread 26 % slower, a pwrite 19 %;
// docs/performance.md). A directory's permissions are checked by each system call through it.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// File systems whose every change is made by a system call on this machine, which queues its
// event. Network and FUSE file systems (changes from elsewhere) and overlayfs (changes to a
// lower layer) are left to the statx.
bool local_file_system(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) return false;
    switch (static_cast<unsigned long>(fs.f_type)) {
        case 0xEF53:      // ext2, ext3, ext4
        case 0x58465342:  // XFS
        case 0x9123683E:  // Btrfs
        case 0x01021994:  // tmpfs
            return true;
        default:
            return false;
    }
}

}  // namespace

DirWatch::DirWatch(int root_fd, bool enable) {
    if (!enable) return;
    if (!local_file_system(root_fd)) {
        log().info("directory watch off: the store is not on a local file system");
        return;
    }
    fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd_.valid()) {
        log().info("directory watch off: inotify_init1 errno={}", errno);
        return;
    }
    if (add(root_fd) < 0) fd_.reset();  // nothing could be trusted below an unwatched root
}

int DirWatch::add(int fd) {
    if (!on()) return -1;
    // inotify takes a path; the descriptor's /proc entry names exactly the directory we hold.
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    const int wd = ::inotify_add_watch(fd_.get(), path.c_str(), kWatchMask);
    if (wd < 0) {
        log().debug("directory not watched: inotify_add_watch errno={}", errno);
        return -1;
    }
    ++users_[wd];  // one inode, one watch: another spelling of it shares the descriptor
    return wd;
}

void DirWatch::release(int wd) {
    auto it = users_.find(wd);
    if (it == users_.end() || --it->second > 0) return;
    users_.erase(it);
    ::inotify_rm_watch(fd_.get(), wd);  // queues IN_IGNORED: the next walk checks again, once
}

bool DirWatch::quiet() {
    if (!on()) return false;
    alignas(inotify_event) char buf[4096];  // more than one event of the longest name
    bool none = true;
    for (;;) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            log().error("directory watch off: read errno={}", n < 0 ? errno : 0);
            fd_.reset();
            return false;
        }
        for (ssize_t at = 0; at < n;) {
            const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
            if (e->mask & IN_IGNORED) users_.erase(e->wd);  // gone with its directory
            none = false;
            at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        }
    }
    return none;
}

}  // namespace cek::fsys
