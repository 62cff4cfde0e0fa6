// Root: opening the store (the root directory, the attribute store, CE's default folders).
// The operations live in root_*.cpp by concern: root_lookup (resolving CE paths), root_open
// (CreateFile), root_info (attributes and times), root_entries (delete, move, directories),
// root_copy (CopyFile) and root_find (FindFirstFile).
#include "fsys/root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fsys/log.h"
#include "fsys/root_internal.h"

namespace cek::fsys {

namespace {

constexpr std::u16string_view kDefaultFolders[] = {u"Windows", u"My Documents",
                                                   u"Program Files", u"Temp"};

// Creates `dir` and missing parents; only a directory created here for `dir` itself gets 0700.
int make_dirs(const std::filesystem::path& dir) {
    auto target = dir.lexically_normal();
    if (!target.has_filename()) target = target.parent_path();  // "a/b/" -> "a/b"
    std::filesystem::path prefix;
    for (const auto& part : target) {
        prefix /= part;
        if (part == "/") continue;
        const mode_t mode = prefix == target ? 0700 : 0777;
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) return -errno;
    }
    return 0;
}

}  // namespace

Root::Root(UniqueFd root_fd, const HostStat& root_st, AttributeStore attrs, RootOptions options)
    : root_fd_(std::move(root_fd)),
      root_st_(root_st),
      attrs_(std::move(attrs)),
      cache_(options.cache_limits),
      dir_fds_(root_fd_.get(), options.watch_directories) {}

Root::~Root() = default;

Result<std::unique_ptr<Root>> Root::open(const std::filesystem::path& host_dir,
                                         RootOptions options) {
    if (host_dir.empty()) return Win32Error::ERROR_INVALID_PARAMETER;
    if (const int rc = make_dirs(host_dir); rc < 0) {
        log().error("cannot create store root dir='{}' errno={}", host_dir.string(), -rc);
        return fail(rc, ErrnoContext::parent);
    }
    // The one open by host path: the daemon's configured directory, not client input.
    UniqueFd fd(::open(host_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return win32_from_errno(errno, ErrnoContext::parent);
    {
        const int probe = open_beneath(fd.get(), ".", O_PATH | O_DIRECTORY);
        if (probe == -ENOSYS) {
            log().error("openat2 unavailable: the store cannot confine paths, refusing");
            return Win32Error::ERROR_NOT_SUPPORTED;
        }
        if (probe < 0) return fail(probe, ErrnoContext::parent);
        ::close(probe);
    }
    HostStat st;
    if (const int rc = stat_fd(fd.get(), st); rc < 0) return fail(rc, ErrnoContext::parent);
    CEK_TRY(auto attrs, AttributeStore::open(fd.get(), options.force_sidecar));
    std::unique_ptr<Root> root(new Root(std::move(fd), st, std::move(attrs), options));
    CEK_TRY_VOID(root->create_default_folders());
    log().info("store opened dir='{}' attributes={}", host_dir.string(),
               root->attribute_backend() == AttributeBackend::xattr ? "xattr" : "sidecar");
    return root;
}

Result<void> Root::create_default_folders() {
    for (std::u16string_view name : kDefaultFolders) {
        const std::string host = *to_utf8(name);
        CEK_TRY(Child c, find_child(root_fd_.get(), name, host, true));
        if (c.exists) continue;
        if (::mkdirat(root_fd_.get(), host.c_str(), 0777) != 0 && errno != EEXIST) {
            return win32_from_errno(errno, ErrnoContext::leaf);
        }
        cache_.invalidate(root_st_.dev, root_st_.ino);
    }
    return {};
}


}  // namespace cek::fsys
