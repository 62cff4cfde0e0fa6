// Where an instance's socket, lock and log live: a private directory per user,
// $CEK_RUNTIME_DIR, else $XDG_RUNTIME_DIR/cekernel, else /tmp/cekernel-<uid>, mode 0700.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

namespace cek::proto {

// Instance names become file names: letters, digits, '.', '_', '-'; 1..64 characters.
inline bool valid_instance_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name[0] == '.') return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

inline std::string runtime_dir() {
    if (const char* d = std::getenv("CEK_RUNTIME_DIR"); d != nullptr && *d != '\0') return d;
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x != nullptr && *x != '\0')
        return std::string(x) + "/cekernel";
    return "/tmp/cekernel-" + std::to_string(::geteuid());
}

// Whether `dir` is a real directory (not a symbolic link) owned by this user with no access for
// anyone else: the only kind of runtime directory a client trusts, since whoever can write in it
// can put a socket there that poses as the kernel. 0, or EACCES with `why` saying what is wrong.
inline int check_private_dir(const std::string& dir, std::string* why = nullptr) {
    struct stat st {};
    auto refuse = [&](int error, std::string text) {
        if (why != nullptr) *why = dir + ": " + std::move(text);
        return error;
    };
    if (::lstat(dir.c_str(), &st) != 0) return refuse(errno, "cannot be examined");
    if (!S_ISDIR(st.st_mode)) return refuse(EACCES, "is not a directory");
    if (st.st_uid != ::geteuid())
        return refuse(EACCES, "belongs to uid " + std::to_string(st.st_uid) + ", not to uid " +
                                  std::to_string(::geteuid()));
    if ((st.st_mode & 0077) != 0)
        return refuse(EACCES, "is open to other users (mode 0" +
                                  std::to_string((st.st_mode >> 6) & 7) +
                                  std::to_string((st.st_mode >> 3) & 7) +
                                  std::to_string(st.st_mode & 7) + ", 0700 needed)");
    return 0;
}

// Creates the directory if needed and checks that it is ours and private. Returns errno or 0.
inline int ensure_runtime_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) return EPERM;
    if ((st.st_mode & 0077) != 0 && ::chmod(dir.c_str(), 0700) != 0) return errno;
    return 0;
}

inline std::string socket_path(const std::string& dir, std::string_view instance) {
    return dir + "/" + std::string(instance) + ".sock";
}
inline std::string lock_path(const std::string& dir, std::string_view instance) {
    return dir + "/" + std::string(instance) + ".lock";
}
inline std::string log_path(const std::string& dir, std::string_view instance) {
    return dir + "/" + std::string(instance) + ".log";
}

}  // namespace cek::proto
