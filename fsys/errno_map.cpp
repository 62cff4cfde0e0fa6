#include "fsys/errno_map.h"

#include <cerrno>
#include <cstring>

#include "fsys/log.h"

namespace cek::fsys {

Win32Error win32_from_errno(int err, ErrnoContext context) {
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
    case EISDIR:
    case ELOOP:  // only RESOLVE_NO_SYMLINKS / O_NOFOLLOW produce it here: a refused symlink
        return Win32Error::ERROR_ACCESS_DENIED;
    // The context-dependent cases below are alike in shape only: each picks its own pair.
    case ENOENT:
        return context == ErrnoContext::parent ? Win32Error::ERROR_PATH_NOT_FOUND
                                               : Win32Error::ERROR_FILE_NOT_FOUND;
    case EEXIST:
        return context == ErrnoContext::create_file ? Win32Error::ERROR_FILE_EXISTS
                                                    : Win32Error::ERROR_ALREADY_EXISTS;
    case ENOSPC:
    case EDQUOT:
        return Win32Error::ERROR_DISK_FULL;
    case ENOTEMPTY:
        return Win32Error::ERROR_DIR_NOT_EMPTY;
    case ENOTDIR:
        return context == ErrnoContext::directory ? Win32Error::ERROR_DIRECTORY
                                                  : Win32Error::ERROR_PATH_NOT_FOUND;
    case EMFILE:
    case ENFILE:
        return Win32Error::ERROR_TOO_MANY_OPEN_FILES;
    case ENAMETOOLONG:
        return Win32Error::ERROR_FILENAME_EXCED_RANGE;
    case EXDEV:
        return Win32Error::ERROR_NOT_SAME_DEVICE;
    case ENOMEM:
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    case EINVAL:
        if (context == ErrnoContext::rename) return Win32Error::ERROR_ACCESS_DENIED;
        break;
    default:
        break;
    }
    log().debug("unmapped errno errno={} ({}) -> ERROR_GEN_FAILURE(31)", err, std::strerror(err));
    return Win32Error::ERROR_GEN_FAILURE;
}

}  // namespace cek::fsys
