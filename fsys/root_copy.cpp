// Root: CopyFileW. The data (only the source's extents, so sparse files stay sparse), the times
// and the attributes go into a hidden temporary beside the target, which is then renamed into
// place: the target never appears half-written.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "fsys/root_internal.h"

namespace cek::fsys {

namespace {

// Copies bytes [from, to) of `in` to the same offsets of `out`, in kernel where possible.
// Stops early if the source shrinks meanwhile. 0 or -errno.
int copy_range(int in, int out, off_t from, off_t to) {
    off_t in_off = from;
    off_t out_off = from;
    while (in_off < to) {
        const ssize_t n = ::copy_file_range(in, &in_off, out, &out_off,
                                            static_cast<size_t>(to - in_off), 0);
        if (n > 0) continue;  // both offsets advanced
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) break;
        return -errno;
    }
    // For file systems without copy_file_range: from where it stopped.
    char buf[65536];
    while (in_off < to) {
        const ssize_t n = ::pread(in, buf, std::min<size_t>(sizeof buf, to - in_off), in_off);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        for (ssize_t done = 0; done < n;) {
            const ssize_t w =
                ::pwrite(out, buf + done, static_cast<size_t>(n - done), in_off + done);
            if (w < 0) {
                if (errno == EINTR) continue;
                return -errno;
            }
            done += w;
        }
        in_off += n;
    }
    return 0;
}

// Copies up to `budget` bytes of the first `end` bytes of `in` to the same offsets of `out`,
// from `pos`: only the source's data extents, so a sparse source (a file grown by SetEndOfFile
// or by a file mapping) stays sparse and its holes cost nothing to copy. Advances `pos`; when it
// reaches `end`, sets the length. 0 or -errno.
int copy_data(int in, int out, off_t& pos, off_t end, uint64_t budget) {
    while (pos < end && budget > 0) {
        off_t data = ::lseek(in, pos, SEEK_DATA);
        off_t hole = end;
        if (data < 0) {
            if (errno != ENXIO && errno != EINVAL && errno != EOPNOTSUPP) return -errno;
            if (errno == ENXIO) {  // nothing but a hole from pos on
                pos = end;
                break;
            }
            data = pos;  // no SEEK_DATA on this file system: copy the rest as data
        } else {
            hole = ::lseek(in, data, SEEK_HOLE);
            if (hole <= data || hole > end) hole = end;  // also when SEEK_HOLE fails
        }
        if (data >= end) {
            pos = end;
            break;
        }
        const off_t stop = std::min<off_t>(hole, data + static_cast<off_t>(std::min<uint64_t>(
                                                          budget, uint64_t{1} << 40)));
        if (const int rc = copy_range(in, out, data, stop); rc < 0) return rc;
        budget -= static_cast<uint64_t>(stop - data);
        pos = stop;
    }
    if (pos < end) return 0;
    return ::ftruncate(out, end) == 0 ? 0 : -errno;
}

}  // namespace

struct Root::CopyJob::State {
    Transfer t;
    bool fail_if_exists = false;
    UniqueFd in;
    UniqueFd out;
    HostStat src_st;
    uint32_t src_attrs = 0;
    std::string temp;
    off_t pos = 0;
    bool finished = false;  // the temporary was renamed into place or removed
    UniqueFd replaced;      // O_PATH: the file the rename replaced
};

Root::CopyJob::CopyJob(std::unique_ptr<State> state) : s_(std::move(state)) {}

Root::CopyJob::~CopyJob() {
    if (!s_->finished) ::unlinkat(s_->t.dst.parent.fd, s_->temp.c_str(), 0);
}

uint64_t Root::CopyJob::size() const { return s_->src_st.size; }
FileId Root::CopyJob::source_id() const { return id_of(s_->src_st); }
FileId Root::CopyJob::temp_id() const {
    HostStat st;
    return stat_fd(s_->out.get(), st) == 0 ? id_of(st) : FileId{};
}

Result<std::unique_ptr<Root::CopyJob>> Root::copy_begin(std::u16string_view from,
                                                        std::u16string_view to,
                                                        bool fail_if_exists) {
    auto s = std::make_unique<CopyJob::State>();
    s->fail_if_exists = fail_if_exists;
    CEK_TRY(s->t, lookup_transfer(from, to, false));
    Lookup& src = s->t.src;
    Lookup& dst = s->t.dst;
    if (dst.exists) {
        if (fail_if_exists) return Win32Error::ERROR_FILE_EXISTS;
        if (!dst.st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
        if (id_of(dst.st) == id_of(src.st)) return Win32Error::ERROR_SHARING_VIOLATION;
        CEK_TRY(uint32_t dst_attrs, attributes_of(dst.parent.fd, dst.leaf, dst.st));
        if ((dst_attrs & kAttrReadonly) != 0) return Win32Error::ERROR_ACCESS_DENIED;
    }

    s->in.reset(open_beneath(src.parent.fd, src.leaf.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY));
    if (!s->in.valid()) return fail(s->in.get(), ErrnoContext::leaf);
    if (const int rc = stat_fd(s->in.get(), s->src_st); rc < 0) return fail(rc, ErrnoContext::leaf);
    if (!s->src_st.is_regular()) return Win32Error::ERROR_ACCESS_DENIED;
    CEK_TRY(s->src_attrs, attrs_.get(s->in.get(), s->src_st));

    s->temp = std::string(kReservedPrefix) + "tmp." + std::to_string(::getpid()) + "." +
              std::to_string(++temp_counter_);
    const auto before = before_change(dst.parent);
    s->out.reset(open_beneath(dst.parent.fd, s->temp.c_str(), O_RDWR | O_CREAT | O_EXCL, 0666));
    if (!s->out.valid()) return fail(s->out.get(), ErrnoContext::leaf);
    changed(dst.parent, before, "", "");  // the temporary is fsys's own: not listed
    return std::unique_ptr<CopyJob>(new CopyJob(std::move(s)));
}

Result<bool> Root::CopyJob::step(uint64_t budget) {
    State& s = *s_;
    const auto end = static_cast<off_t>(s.src_st.size);
    if (const int rc = copy_data(s.in.get(), s.out.get(), s.pos, end, budget); rc < 0) {
        return win32_from_errno(-rc, ErrnoContext::leaf);
    }
    if (s.pos < end) return false;
    // Only a start: it returns once the pages are queued, and failing changes nothing.
    (void)::sync_file_range(s.out.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    return true;
}

void Root::CopyJob::abandon() {
    if (s_->finished) return;
    ::unlinkat(s_->t.dst.parent.fd, s_->temp.c_str(), 0);
    s_->finished = true;
}

UniqueFd Root::CopyJob::take_replaced() { return std::move(s_->replaced); }

Result<void> Root::copy_finish(CopyJob& job) {
    CopyJob::State& s = *job.s_;
    Lookup& dst = s.t.dst;
    HostStat out_st;
    auto abandon = [&](Win32Error e) -> Result<void> {
        const auto before = before_change(dst.parent);
        ::unlinkat(dst.parent.fd, s.temp.c_str(), 0);
        changed(dst.parent, before, "", "");
        s.finished = true;
        if (out_st.ino != 0) attrs_.forget(out_st);
        return e;
    };
    const timespec times[2] = {s.src_st.atime, s.src_st.mtime};
    if (::futimens(s.out.get(), times) != 0) {
        return abandon(win32_from_errno(errno, ErrnoContext::leaf));
    }
    if (const int rc = stat_fd(s.out.get(), out_st); rc < 0) {
        return abandon(win32_from_errno(-rc, ErrnoContext::leaf));
    }
    // The copy carries the source's attributes plus ARCHIVE, READONLY last (it drops write bits).
    const uint32_t attrs = (s.src_attrs & kStoredMask) | kAttrArchive;
    if (attrs != kAttrArchive) {
        if (auto r = attrs_.set(s.out.get(), out_st, attrs); !r) return abandon(r.error());
    }
    s.out.reset();

    const auto before = before_change(dst.parent);
    int rc;
    if (s.fail_if_exists || !dst.exists) {
        rc = rename_noreplace(dst.parent.fd, s.temp.c_str(), dst.parent.fd, dst.requested.c_str());
        if (rc == -EEXIST) return abandon(Win32Error::ERROR_FILE_EXISTS);
    } else {
        // Replace the existing entry under its own (real-case) name, not a second spelling.
        s.replaced.reset(
            open_beneath(dst.parent.fd, dst.leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        rc = ::renameat(dst.parent.fd, s.temp.c_str(), dst.parent.fd, dst.leaf.c_str());
        if (rc != 0) rc = -errno;
    }
    if (rc < 0) return abandon(fail(rc, ErrnoContext::leaf));
    s.finished = true;
    if (dst.exists) attrs_.forget(dst.st);
    changed(dst.parent, before, "", dst.exists && !s.fail_if_exists ? dst.leaf : dst.requested);
    return {};
}

Result<void> Root::copy_file(std::u16string_view from, std::u16string_view to,
                             bool fail_if_exists) {
    CEK_TRY(std::unique_ptr<CopyJob> job, copy_begin(from, to, fail_if_exists));
    for (;;) {
        CEK_TRY(bool done, job->step(UINT64_MAX));
        if (done) break;
    }
    return copy_finish(*job);
}

}  // namespace cek::fsys
