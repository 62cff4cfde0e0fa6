#include "fsys/attributes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fsys/errno_map.h"
#include "fsys/log.h"

namespace cek::fsys {

namespace {

constexpr const char* kXattrName = "user.DOSATTRIB";
constexpr const char* kProbeName = "user.cek.probe";
constexpr const char* kSidecarTemp = ".cek~attrs.tmp";
constexpr std::string_view kSidecarHeader = "cek-attrs 1";

uint32_t default_stored(const HostStat& st) { return st.is_dir() ? 0 : kAttrArchive; }

std::optional<int64_t> btime_ns(const HostStat& st) {
    if (!st.btime) return std::nullopt;
    return int64_t{st.btime->tv_sec} * 1'000'000'000 + st.btime->tv_nsec;
}

bool no_xattr_support(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

}  // namespace

std::optional<uint32_t> parse_dosattrib(std::string_view value) {
    if (auto nul = value.find('\0'); nul != std::string_view::npos) value = value.substr(0, nul);
    if (value.size() < 3 || value[0] != '0' || (value[1] != 'x' && value[1] != 'X')) {
        return std::nullopt;
    }
    uint64_t v = 0;
    for (size_t i = 2; i < value.size(); ++i) {
        const char c = value[i];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            d = c - 'A' + 10;
        } else {
            return std::nullopt;
        }
        v = v * 16 + d;
        if (v > 0xFFFFFFFFULL) return std::nullopt;
    }
    return static_cast<uint32_t>(v);
}

std::string format_dosattrib(uint32_t attrs) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%x", attrs);
    return buf;
}

uint32_t report_attributes(std::optional<uint32_t> stored, const HostStat& st) {
    uint32_t bits = stored.value_or(default_stored(st)) & kStoredMask;
    if (st.is_regular() && (st.mode & S_IWUSR) == 0) bits |= kAttrReadonly;
    if (st.is_dir()) bits |= kAttrDirectory;
    return bits == 0 ? kAttrNormal : bits;
}

Result<AttributeStore> AttributeStore::open(int root_fd, bool force_sidecar) {
    AttributeStore s;
    s.root_.reset(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!s.root_.valid()) return win32_from_errno(errno, ErrnoContext::parent);
    if (!force_sidecar) {
        UniqueFd dir(open_beneath(root_fd, ".", O_RDONLY | O_DIRECTORY));
        if (!dir.valid()) return win32_from_errno(-dir.get(), ErrnoContext::parent);
        if (::fsetxattr(dir.get(), kProbeName, "1", 1, 0) == 0) {
            ::fremovexattr(dir.get(), kProbeName);
            log().debug("attribute store backend=xattr");
            return s;
        }
        const int err = errno;
        if (!no_xattr_support(err)) {
            // Not "unsupported": keep xattrs, the failure will show up per file if it persists.
            log().warn("xattr probe failed errno={}, keeping xattr backend", err);
            return s;
        }
        log().info("host has no user xattrs, using sidecar attribute store");
    }
    s.backend_ = AttributeBackend::sidecar;
    s.load_sidecar();
    return s;
}

void AttributeStore::load_sidecar() {
    UniqueFd fd(open_beneath(root_.get(), kSidecarName, O_RDONLY));
    if (!fd.valid()) {
        if (fd.get() != -ENOENT) log().error("sidecar unreadable errno={}", -fd.get());
        return;
    }
    std::string text;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    size_t pos = 0;
    bool header = true;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        const std::string line = text.substr(pos, eol - pos);
        pos = eol + 1;
        if (header) {
            header = false;
            if (line != kSidecarHeader) {
                log().error("sidecar has unknown format, ignoring it");
                return;
            }
            continue;
        }
        unsigned long long ino = 0;
        char btime[32] = {};
        char attrs[16] = {};
        if (std::sscanf(line.c_str(), "%llu %31s %15s", &ino, btime, attrs) != 3) continue;
        auto value = parse_dosattrib(attrs);
        if (!value) continue;
        Record r;
        r.attrs = *value;
        if (std::string_view(btime) != "-") r.btime_ns = std::strtoll(btime, nullptr, 10);
        sidecar_[ino] = r;
    }
}

Result<void> AttributeStore::save_sidecar() {
    std::string text(kSidecarHeader);
    text += '\n';
    for (const auto& [ino, r] : sidecar_) {
        text += std::to_string(ino);
        text += ' ';
        text += r.btime_ns ? std::to_string(*r.btime_ns) : std::string("-");
        text += ' ';
        text += format_dosattrib(r.attrs);
        text += '\n';
    }
    UniqueFd fd(open_beneath(root_.get(), kSidecarTemp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (!fd.valid()) return win32_from_errno(-fd.get(), ErrnoContext::leaf);
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::unlinkat(root_.get(), kSidecarTemp, 0);
            return win32_from_errno(err, ErrnoContext::leaf);
        }
        done += static_cast<size_t>(n);
    }
    fd.reset();
    // The rename is the single atomic step: readers see the old or the new store, never half.
    if (::renameat(root_.get(), kSidecarTemp, root_.get(), kSidecarName) != 0) {
        const int err = errno;
        ::unlinkat(root_.get(), kSidecarTemp, 0);
        return win32_from_errno(err, ErrnoContext::leaf);
    }
    return {};
}

Result<std::optional<uint32_t>> AttributeStore::load(int fd, const HostStat& st) {
    if (backend_ == AttributeBackend::sidecar) {
        auto it = sidecar_.find(st.ino);
        if (it == sidecar_.end()) return std::optional<uint32_t>{};
        const auto now = btime_ns(st);
        if (it->second.btime_ns && now && *it->second.btime_ns != *now) {
            return std::optional<uint32_t>{};  // the inode was reused by a new file
        }
        return std::optional<uint32_t>{it->second.attrs};
    }
    std::vector<char> buf(64);
    for (;;) {
        const ssize_t n = ::fgetxattr(fd, kXattrName, buf.data(), buf.size());
        if (n >= 0) {
            auto v = parse_dosattrib(std::string_view(buf.data(), static_cast<size_t>(n)));
            if (!v) log().debug("unparsable {} on ino={}, ignored", kXattrName, st.ino);
            return v;
        }
        if (errno == ERANGE) {
            const ssize_t need = ::fgetxattr(fd, kXattrName, nullptr, 0);
            if (need < 0) continue;  // raced with a change; try again
            buf.resize(static_cast<size_t>(need) + 1);
            continue;
        }
        if (errno == ENODATA || no_xattr_support(errno)) return std::optional<uint32_t>{};
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
}

Result<void> AttributeStore::store(int fd, const HostStat& st, uint32_t stored) {
    const bool is_default = stored == default_stored(st);
    if (backend_ == AttributeBackend::sidecar) {
        if (is_default) {
            if (sidecar_.erase(st.ino) == 0) return {};
        } else {
            sidecar_[st.ino] = Record{btime_ns(st), stored};
        }
        return save_sidecar();
    }
    if (is_default) {
        if (::fremovexattr(fd, kXattrName) != 0 && errno != ENODATA) {
            return win32_from_errno(errno, ErrnoContext::leaf);
        }
        return {};
    }
    const std::string value = format_dosattrib(stored);
    if (::fsetxattr(fd, kXattrName, value.data(), value.size(), 0) != 0) {
        return win32_from_errno(errno, ErrnoContext::leaf);
    }
    return {};
}

Result<uint32_t> AttributeStore::get(int fd, const HostStat& st) {
    CEK_TRY(auto stored, load(fd, st));
    return report_attributes(stored, st);
}

Result<void> AttributeStore::set(int fd, const HostStat& st, uint32_t attrs) {
    const uint32_t stored = attrs & kStoredMask;
    const bool readonly = (stored & kAttrReadonly) != 0;
    const bool mirror = st.is_regular();
    // Without write permission a user xattr cannot be set, so the order depends on direction.
    if (mirror && !readonly && (st.mode & S_IWUSR) == 0) {
        if (::fchmod(fd, (st.mode & 07777) | S_IWUSR) != 0) {
            return win32_from_errno(errno, ErrnoContext::leaf);
        }
    }
    CEK_TRY_VOID(store(fd, st, stored));
    if (mirror && readonly && (st.mode & 0222) != 0) {
        if (::fchmod(fd, st.mode & 07777 & ~0222U) != 0) {
            return win32_from_errno(errno, ErrnoContext::leaf);
        }
    }
    return {};
}

void AttributeStore::forget(const HostStat& st) {
    // A directory's link count includes its subdirectories; only files can have other names.
    if (backend_ != AttributeBackend::sidecar || (!st.is_dir() && st.nlink > 1)) return;
    if (sidecar_.erase(st.ino) != 0) {
        if (auto r = save_sidecar(); !r) {
            log().error("sidecar update failed -> {}", error_name(r.error()));
        }
    }
}

}  // namespace cek::fsys
