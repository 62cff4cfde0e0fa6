// Files: CreateFileW, CreateFileForMappingW, the handle calls and the path calls.
// ReadFile, WriteFile, SetFilePointer, GetFileSize and FlushFileBuffers run here, on the cached
// descriptor (client/file_cache.h); everything that needs the kernel's knowledge (sharing,
// mappings, attributes, names) is a request. While this process alone uses a file it keeps the
// position itself (protocol/file_position.h): a seek is a compare-and-swap, a read or a write
// one pread or pwrite.
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "coredll/client/file_cache.h"
#include "coredll/client/thread_park.h"
#include "coredll/client/window.h"
#include "coredll/api/api.h"
#include "protocol/file_position.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

// A buffer address as the window knows it: a pointer into a mapping this process never touched
// makes read() and write() fail with EFAULT instead of faulting it in (mappings.md §9).
uint64_t address_of(const void* p) { return reinterpret_cast<uintptr_t>(p); }

DWORD io_error(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return ERROR_DISK_FULL;
    case EFAULT:
        return ERROR_NOACCESS;
    case EBADF:
    case EACCES:
    case EPERM:
        return ERROR_ACCESS_DENIED;
    case EISDIR:
        return ERROR_ACCESS_DENIED;
    default:
        return ERROR_GEN_FAILURE;
    }
}

// The cached descriptor of a file handle, or FALSE-worthy with the last error set.
bool file_of(HANDLE h, CachedFile& f) {
    cek::Win32Error err{};
    if (FileCache::instance().get(handle_to_wire(h), f, err)) return true;
    set_last_error(static_cast<DWORD>(err));
    return false;
}

// The start of ReadFile and WriteFile: zeroes the caller's count, finds the descriptor and checks
// that the handle may `mode` (read or write) and is no directory.
bool file_for_io(HANDLE h, LPDWORD count, bool CachedFile::*mode, CachedFile& f) {
    if (count != nullptr) *count = 0;
    if (!file_of(h, f)) return false;
    if (!(f.*mode) || f.directory) {
        set_last_error(ERROR_ACCESS_DENIED);
        return false;
    }
    return true;
}

// Where a kept position is now. Kept: `word` holds it. Shared: the kernel moved it into the
// description (a second process uses the file). Closed: the slot is another file's (the handle
// was closed by another thread). While the kernel moves it, this waits the moment that takes.
enum class Position { Kept, Shared, Closed };
Position load_position(const CachedFile& f, uint64_t& word) {
    for (unsigned round = 1;; ++round) {
        word = f.position->load(std::memory_order_acquire);
        if (proto::position_generation(word) != f.generation) return Position::Closed;
        const uint64_t at = proto::position_value(word);
        if (at == proto::kPositionShared) return Position::Shared;
        if (at != proto::kPositionMoving) return Position::Kept;
        // A kernel that died in the middle never finishes: its descriptors refuse everything.
        if (round % 64 == 0 && Connection::instance().kernel_gone()) return Position::Shared;
        ::sched_yield();
    }
}

// A call's turn on a kept position: this process's threads take turns per file, as CE
// serializes the calls on one file object. A park (SuspendThread, TerminateThread) that comes
// meanwhile takes effect when the call is done, so a stopped thread never keeps the turn.
struct FileTurn {
    explicit FileTurn(std::mutex& m) : lock(m) {}
    ParkDeferral defer;  // first in, last out: the turn is let go before a park is taken
    std::lock_guard<std::mutex> lock;
};

// Reads or writes `size` bytes at `at` (pread/pwrite), or at the description's position when
// `at` is nullopt (read/write). Returns the bytes moved before the end of the file or an error;
// `error` is 0 or the Win32 error that stopped it.
template <bool Write>
DWORD transfer(const CachedFile& f, void* buffer, DWORD size, std::optional<uint64_t> at,
               DWORD& error) {
    auto* p = static_cast<char*>(buffer);
    DWORD done = 0;
    error = 0;
    while (done < size) {
        ssize_t n;
        if constexpr (Write)
            n = at ? ::pwrite(f.fd, p + done, size - done, static_cast<off_t>(*at + done))
                   : ::write(f.fd, p + done, size - done);
        else
            n = at ? ::pread(f.fd, p + done, size - done, static_cast<off_t>(*at + done))
                   : ::read(f.fd, p + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EFAULT && Window::instance().touch(address_of(p + done))) continue;
        if (n < 0) {
            error = io_error(errno);
            break;
        }
        if (n == 0) {
            if (Write) error = ERROR_DISK_FULL;
            break;  // a read: end of file, success with fewer bytes
        }
        done += static_cast<DWORD>(n);
    }
    return done;
}

// ReadFile / WriteFile at the position, kept or the description's: the bytes moved, with
// `error` as above.
template <bool Write>
DWORD transfer_at_position(const CachedFile& f, void* buffer, DWORD size, DWORD& error) {
    uint64_t word;
    if (f.position == nullptr || load_position(f, word) == Position::Shared)
        return transfer<Write>(f, buffer, size, std::nullopt, error);  // shared for good
    FileTurn turn(*f.lock);
    for (;;) {
        switch (load_position(f, word)) {
        case Position::Closed:
            error = ERROR_INVALID_HANDLE;
            return 0;
        case Position::Shared:
            return transfer<Write>(f, buffer, size, std::nullopt, error);
        case Position::Kept:
            break;
        }
        const uint64_t at = proto::position_value(word);
        if constexpr (Write) {
            // The range is taken before the data goes: a takeover meanwhile puts the kernel's
            // position after it.
            if (size > proto::kPositionMax - at) {
                error = ERROR_DISK_FULL;  // past any host's largest file
                return 0;
            }
            const uint64_t end = proto::position_word(f.generation, at + size);
            if (!f.position->compare_exchange_strong(word, end, std::memory_order_acq_rel))
                continue;
            const DWORD done = transfer<true>(f, buffer, size, at, error);
            if (done != size) {  // short: the position ends after what was written
                uint64_t expected = end;
                f.position->compare_exchange_strong(
                    expected, proto::position_word(f.generation, at + done),
                    std::memory_order_acq_rel);
            }
            return done;
        } else {
            // A read changes nothing but the position: when the position moved under it (a
            // takeover), it is done again where the position is now.
            const DWORD done = transfer<false>(f, buffer, size, at, error);
            if (f.position->compare_exchange_strong(
                    word, proto::position_word(f.generation, at + done), std::memory_order_acq_rel))
                return done;
        }
    }
}

constexpr int64_t kHostCheckAbove = int64_t{1} << 40;

// SetFilePointer on a kept position: the new position, or -1 with the last error set; nullopt
// when the position is the description's after all.
std::optional<int64_t> seek_kept(const CachedFile& f, int64_t distance, DWORD method) {
    uint64_t word;
    if (load_position(f, word) == Position::Shared) return std::nullopt;
    FileTurn turn(*f.lock);
    for (;;) {
        switch (load_position(f, word)) {
        case Position::Closed:
            set_last_error(ERROR_INVALID_HANDLE);
            return -1;
        case Position::Shared:
            return std::nullopt;
        case Position::Kept:
            break;
        }
        int64_t base = 0;
        if (method == FILE_CURRENT) {
            base = static_cast<int64_t>(proto::position_value(word));
        } else if (method == FILE_END) {
            struct stat st {};
            if (::fstat(f.fd, &st) != 0) {
                set_last_error(io_error(errno));
                return -1;
            }
            base = st.st_size;
        }
        int64_t target;
        if (__builtin_add_overflow(base, distance, &target) || target < 0 ||
            static_cast<uint64_t>(target) > proto::kPositionMax) {
            set_last_error(ERROR_NEGATIVE_SEEK);  // what the host's lseek gives both
            return -1;
        }
        // Beyond 1 TiB the host's largest file may be near (ext4: 16 TiB): its lseek says
        // whether the position is one the description could take over. The description's
        // offset is nobody's while the position is kept.
        if (target > kHostCheckAbove && ::lseek(f.fd, target, SEEK_SET) < 0) {
            set_last_error(ERROR_NEGATIVE_SEEK);
            return -1;
        }
        if (f.position->compare_exchange_strong(
                word, proto::position_word(f.generation, static_cast<uint64_t>(target)),
                std::memory_order_acq_rel))
            return target;
    }
}

HANDLE open_file(LPCWSTR name, DWORD access, DWORD share, DWORD disposition, DWORD flags,
                 bool for_mapping) {
    proto::CreateFileRequest req{access, share, disposition, flags, for_mapping ? 1u : 0u, 0};
    auto path = path_bytes(name, req.path_chars);
    proto::CreateFileReply rep{};
    if (!finish(Connection::instance().call(req, rep, path))) return INVALID_HANDLE_VALUE;
    return handle_from_wire(rep.handle);
}

BOOL path_op(proto::PathOpCode op, LPCWSTR path, uint32_t argument, DWORD* value = nullptr) {
    proto::PathOpRequest req{static_cast<uint32_t>(op), argument, 0, 0};
    auto bytes = path_bytes(path, req.path_chars);
    proto::PathOpReply rep{};
    if (!finish(Connection::instance().call(req, rep, bytes))) return FALSE;
    if (value != nullptr) *value = rep.value;
    return TRUE;
}

BOOL move_path(LPCWSTR from, LPCWSTR to, bool copy, bool fail_if_exists) {
    proto::MovePathRequest req{copy ? 1u : 0u, fail_if_exists ? 1u : 0u, 0, 0};
    auto a = path_bytes(from, req.from_chars);
    auto b = path_bytes(to, req.to_chars);
    std::byte both[2 * (MAX_PATH + 1) * sizeof(WCHAR)];
    std::memcpy(both, a.data(), a.size());
    std::memcpy(both + a.size(), b.data(), b.size());
    proto::MovePathReply rep{};
    return finish(Connection::instance().call(req, rep, std::span(both, a.size() + b.size())))
               ? TRUE
               : FALSE;
}


void fill_find_data(const proto::FindEntryWire& e, std::span<const std::byte> name,
                    LPWIN32_FIND_DATAW out) {
    std::memset(out, 0, sizeof *out);
    out->dwFileAttributes = e.attributes;
    out->ftCreationTime = to_filetime(e.creation);
    out->ftLastAccessTime = to_filetime(e.last_access);
    out->ftLastWriteTime = to_filetime(e.last_write);
    out->nFileSizeHigh = static_cast<DWORD>(e.size >> 32);
    out->nFileSizeLow = static_cast<DWORD>(e.size);
    out->dwOID = static_cast<DWORD>(e.oid);
    size_t chars = std::min<size_t>({e.name_chars, name.size() / sizeof(WCHAR), MAX_PATH - 1});
    std::memcpy(out->cFileName, name.data(), chars * sizeof(WCHAR));
}

}  // namespace

extern "C" {

HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE /*hTemplateFile: ignored by CE*/) {
    return open_file(lpFileName, dwDesiredAccess, dwShareMode, dwCreationDisposition,
                     dwFlagsAndAttributes, false);
}

HANDLE WINAPI CreateFileForMappingW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                                    LPSECURITY_ATTRIBUTES, DWORD dwCreationDisposition,
                                    DWORD dwFlagsAndAttributes, HANDLE) {
    return open_file(lpFileName, dwDesiredAccess, dwShareMode, dwCreationDisposition,
                     dwFlagsAndAttributes, true);
}

BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead,
                     LPDWORD lpNumberOfBytesRead, LPOVERLAPPED /*unsupported in CE: ignored*/) {
    CachedFile f;
    if (!file_for_io(hFile, lpNumberOfBytesRead, &CachedFile::read, f)) return FALSE;
    DWORD error = 0;
    const DWORD done = transfer_at_position<false>(f, lpBuffer, nNumberOfBytesToRead, error);
    if (error != 0) {
        set_last_error(error);
        return FALSE;
    }
    if (lpNumberOfBytesRead != nullptr) *lpNumberOfBytesRead = done;
    return TRUE;
}

BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite,
                      LPDWORD lpNumberOfBytesWritten, LPOVERLAPPED) {
    CachedFile f;
    if (!file_for_io(hFile, lpNumberOfBytesWritten, &CachedFile::write, f)) return FALSE;
    DWORD error = 0;
    const DWORD done = transfer_at_position<true>(f, const_cast<void*>(lpBuffer),
                                                  nNumberOfBytesToWrite, error);
    if (lpNumberOfBytesWritten != nullptr) *lpNumberOfBytesWritten = done;
    if (error != 0) {
        set_last_error(error);
        return FALSE;
    }
    return TRUE;
}

DWORD WINAPI SetFilePointer(HANDLE hFile, LONG lDistanceToMove, PLONG lpDistanceToMoveHigh,
                            DWORD dwMoveMethod) {
    if (dwMoveMethod > FILE_END) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return INVALID_SET_FILE_POINTER;
    }
    CachedFile f;
    if (!file_of(hFile, f)) return INVALID_SET_FILE_POINTER;
    int64_t distance = lpDistanceToMoveHigh != nullptr
                           ? static_cast<int64_t>((uint64_t(uint32_t(*lpDistanceToMoveHigh)) << 32) |
                                                  uint32_t(lDistanceToMove))
                           : int64_t{lDistanceToMove};
    std::optional<int64_t> kept;
    if (f.position != nullptr) kept = seek_kept(f, distance, dwMoveMethod);
    off_t at;
    if (kept) {
        if (*kept < 0) return INVALID_SET_FILE_POINTER;
        at = *kept;
    } else {
        static constexpr int kWhence[] = {SEEK_SET, SEEK_CUR, SEEK_END};
        at = ::lseek(f.fd, distance, kWhence[dwMoveMethod]);
        if (at < 0) {
            set_last_error(errno == EINVAL ? ERROR_NEGATIVE_SEEK : io_error(errno));
            return INVALID_SET_FILE_POINTER;
        }
    }
    if (lpDistanceToMoveHigh != nullptr) *lpDistanceToMoveHigh = static_cast<LONG>(at >> 32);
    auto low = static_cast<DWORD>(at);
    if (low == INVALID_SET_FILE_POINTER) set_last_error(NO_ERROR);  // tells it from a failure
    return low;
}

DWORD WINAPI GetFileSize(HANDLE hFile, LPDWORD lpFileSizeHigh) {
    CachedFile f;
    if (!file_of(hFile, f)) return INVALID_FILE_SIZE;
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) {
        set_last_error(io_error(errno));
        return INVALID_FILE_SIZE;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (lpFileSizeHigh != nullptr) *lpFileSizeHigh = static_cast<DWORD>(size >> 32);
    auto low = static_cast<DWORD>(size);
    if (low == INVALID_FILE_SIZE) set_last_error(NO_ERROR);
    return low;
}

BOOL WINAPI SetEndOfFile(HANDLE hFile) {
    // A kept position is read by the kernel from this process's table: no call of this
    // process may move it meanwhile.
    CachedFile f;
    std::optional<FileTurn> turn;
    if (FileCache::instance().peek(handle_to_wire(hFile), f) && f.position != nullptr)
        turn.emplace(*f.lock);
    proto::SetEndOfFileRequest req{handle_to_wire(hFile), 0};
    proto::SetEndOfFileReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

BOOL WINAPI FlushFileBuffers(HANDLE hFile) {
    CachedFile f;
    if (!file_of(hFile, f)) return FALSE;
    if (!f.write) {
        set_last_error(ERROR_ACCESS_DENIED);
        return FALSE;
    }
    if (::fsync(f.fd) != 0) {
        set_last_error(io_error(errno));
        return FALSE;
    }
    return TRUE;
}

BOOL WINAPI GetFileInformationByHandle(HANDLE hFile, LPBY_HANDLE_FILE_INFORMATION info) {
    proto::FileInfoRequest req{handle_to_wire(hFile), 0};
    proto::FileInfoReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    if (info == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    info->dwFileAttributes = rep.attributes;
    info->ftCreationTime = to_filetime(rep.creation);
    info->ftLastAccessTime = to_filetime(rep.last_access);
    info->ftLastWriteTime = to_filetime(rep.last_write);
    info->dwVolumeSerialNumber = static_cast<DWORD>(rep.dev);
    info->nFileSizeHigh = static_cast<DWORD>(rep.size >> 32);
    info->nFileSizeLow = static_cast<DWORD>(rep.size);
    info->nNumberOfLinks = rep.links;
    info->nFileIndexHigh = static_cast<DWORD>(rep.ino >> 32);
    info->nFileIndexLow = static_cast<DWORD>(rep.ino);
    info->dwOID = static_cast<DWORD>(rep.ino);
    return TRUE;
}

BOOL WINAPI GetFileTime(HANDLE hFile, LPFILETIME lpCreationTime, LPFILETIME lpLastAccessTime,
                        LPFILETIME lpLastWriteTime) {
    proto::FileInfoRequest req{handle_to_wire(hFile), 0};
    proto::FileInfoReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    if (lpCreationTime != nullptr) *lpCreationTime = to_filetime(rep.creation);
    if (lpLastAccessTime != nullptr) *lpLastAccessTime = to_filetime(rep.last_access);
    if (lpLastWriteTime != nullptr) *lpLastWriteTime = to_filetime(rep.last_write);
    return TRUE;
}

BOOL WINAPI SetFileTime(HANDLE hFile, const FILETIME* lpCreationTime,
                        const FILETIME* lpLastAccessTime, const FILETIME* lpLastWriteTime) {
    proto::SetFileTimeRequest req{};
    req.handle = handle_to_wire(hFile);
    if (lpCreationTime != nullptr) {
        req.which |= 1;
        req.creation = from_filetime(*lpCreationTime);
    }
    if (lpLastAccessTime != nullptr) {
        req.which |= 2;
        req.last_access = from_filetime(*lpLastAccessTime);
    }
    if (lpLastWriteTime != nullptr) {
        req.which |= 4;
        req.last_write = from_filetime(*lpLastWriteTime);
    }
    proto::SetFileTimeReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

DWORD WINAPI GetFileAttributesW(LPCWSTR lpFileName) {
    DWORD value = 0;
    return path_op(proto::PathOpCode::GetAttributes, lpFileName, 0, &value)
               ? value
               : INVALID_FILE_ATTRIBUTES;
}

BOOL WINAPI SetFileAttributesW(LPCWSTR lpFileName, DWORD dwFileAttributes) {
    return path_op(proto::PathOpCode::SetAttributes, lpFileName, dwFileAttributes);
}

BOOL WINAPI DeleteFileW(LPCWSTR lpFileName) {
    return path_op(proto::PathOpCode::Unlink, lpFileName, 0);
}

BOOL WINAPI CreateDirectoryW(LPCWSTR lpPathName, LPSECURITY_ATTRIBUTES) {
    return path_op(proto::PathOpCode::MakeDirectory, lpPathName, 0);
}

BOOL WINAPI RemoveDirectoryW(LPCWSTR lpPathName) {
    return path_op(proto::PathOpCode::RemoveEmptyDirectory, lpPathName, 0);
}

BOOL WINAPI MoveFileW(LPCWSTR lpExistingFileName, LPCWSTR lpNewFileName) {
    return move_path(lpExistingFileName, lpNewFileName, false, false);
}

BOOL WINAPI CopyFileW(LPCWSTR lpExistingFileName, LPCWSTR lpNewFileName, BOOL bFailIfExists) {
    return move_path(lpExistingFileName, lpNewFileName, true, bFailIfExists != FALSE);
}

HANDLE WINAPI FindFirstFileW(LPCWSTR lpFileName, LPWIN32_FIND_DATAW lpFindFileData) {
    if (lpFindFileData == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    proto::FindFirstRequest req{};
    auto bytes = path_bytes(lpFileName, req.path_chars);
    proto::FindFirstReply rep{};
    std::byte name[MAX_PATH * sizeof(WCHAR)];
    CallStatus st = Connection::instance().call(req, rep, bytes, name);
    if (!finish(st)) return INVALID_HANDLE_VALUE;
    fill_find_data(rep.entry, std::span(name, st.data_bytes), lpFindFileData);
    return handle_from_wire(rep.handle);
}

BOOL WINAPI FindNextFileW(HANDLE hFindFile, LPWIN32_FIND_DATAW lpFindFileData) {
    if (lpFindFileData == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    proto::FindNextRequest req{handle_to_wire(hFindFile), 0};
    proto::FindNextReply rep{};
    std::byte name[MAX_PATH * sizeof(WCHAR)];
    CallStatus st = Connection::instance().call(req, rep, {}, name);
    if (!finish(st)) return FALSE;
    fill_find_data(rep.entry, std::span(name, st.data_bytes), lpFindFileData);
    return TRUE;
}

BOOL WINAPI FindClose(HANDLE hFindFile) {
    proto::FindCloseRequest req{handle_to_wire(hFindFile), 0};
    proto::FindCloseReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

}  // extern "C"
