#include "temp_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace cek::fsys::test {

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/cek-fsys-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    // Restore write bits first so removal works for non-root users too.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_symlink()) ::chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(path_, ec);
}

StoreFixture::StoreFixture(RootOptions options) { reopen(options); }

std::filesystem::path StoreFixture::host(const std::string& rel) const {
    return rel.empty() ? dir.path() / "root" : dir.path() / "root" / rel;
}

void StoreFixture::reopen(RootOptions options) {
    root_.reset();
    auto r = Root::open(host(), options);
    if (!r) throw std::runtime_error("Root::open failed");
    root_ = std::move(r).value();
}

void write_host_file(const std::filesystem::path& p, const std::string& data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) throw std::runtime_error("write_host_file failed: " + p.string());
}

std::string read_host_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string read_fd(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    off_t off = 0;
    while ((n = ::pread(fd, buf, sizeof buf, off)) > 0) {
        out.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return out;
}

std::string host_dosattrib(const std::filesystem::path& p) {
    char buf[256];
    const ssize_t n = ::lgetxattr(p.c_str(), "user.DOSATTRIB", buf, sizeof buf);
    if (n < 0) return "<none>";
    return std::string(buf, static_cast<size_t>(n));
}

void settle() { ::usleep(30'000); }

}  // namespace cek::fsys::test
