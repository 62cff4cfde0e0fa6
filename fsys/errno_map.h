// The one place where a host errno becomes a Win32 error code.
#pragma once

#include "common/errors.h"

namespace cek::fsys {

// What the failing system call was doing; some errno values mean different things per context.
enum class ErrnoContext {
    leaf,         // acting on the last component of the path (ENOENT: FILE_NOT_FOUND)
    parent,       // walking the directories above it (ENOENT: PATH_NOT_FOUND)
    create_file,  // creating a file exclusively (EEXIST: FILE_EXISTS)
    directory,    // the target must be a directory (ENOTDIR: ERROR_DIRECTORY)
    rename,       // moving an entry (EINVAL, into its own subtree: ACCESS_DENIED)
};

// Maps a positive errno. Unknown values give ERROR_GEN_FAILURE and a debug log line.
Win32Error win32_from_errno(int err, ErrnoContext context);

}  // namespace cek::fsys
