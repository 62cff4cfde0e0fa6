// GetFileAttributesExW and GetDiskFreeSpaceExW: path queries answered by the kernel, which owns
// the object store (a client does not know which host directory holds it).
#include <cstring>

#include "coredll/api/api.h"

using namespace cek::coredll;
namespace proto = cek::proto;

extern "C" {

BOOL WINAPI GetFileAttributesExW(LPCWSTR lpFileName, GET_FILEEX_INFO_LEVELS fInfoLevelId,
                                 LPVOID lpFileInformation) {
    if (fInfoLevelId != GetFileExInfoStandard || lpFileInformation == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    proto::PathInfoRequest req{0, 0};
    auto path = path_bytes(lpFileName, req.path_chars);
    proto::PathInfoReply rep{};
    if (!finish(Connection::instance().call(req, rep, path))) return FALSE;
    WIN32_FILE_ATTRIBUTE_DATA data{};
    data.dwFileAttributes = rep.attributes;
    data.ftCreationTime = to_filetime(rep.creation);
    data.ftLastAccessTime = to_filetime(rep.last_access);
    data.ftLastWriteTime = to_filetime(rep.last_write);
    data.nFileSizeHigh = static_cast<DWORD>(rep.size >> 32);
    data.nFileSizeLow = static_cast<DWORD>(rep.size);
    std::memcpy(lpFileInformation, &data, sizeof data);
    return TRUE;
}

// A null directory means the root of the object store. Each output is optional.
BOOL WINAPI GetDiskFreeSpaceExW(LPCWSTR lpDirectoryName, PULARGE_INTEGER lpFreeBytesAvailableToCaller,
                                PULARGE_INTEGER lpTotalNumberOfBytes,
                                PULARGE_INTEGER lpTotalNumberOfFreeBytes) {
    proto::DiskSpaceRequest req{0, 0};
    auto path = path_bytes(lpDirectoryName, req.path_chars);
    proto::DiskSpaceReply rep{};
    if (!finish(Connection::instance().call(req, rep, path))) return FALSE;
    if (lpFreeBytesAvailableToCaller != nullptr) lpFreeBytesAvailableToCaller->QuadPart = rep.free_to_caller;
    if (lpTotalNumberOfBytes != nullptr) lpTotalNumberOfBytes->QuadPart = rep.total;
    if (lpTotalNumberOfFreeBytes != nullptr) lpTotalNumberOfFreeBytes->QuadPart = rep.total_free;
    return TRUE;
}

}  // extern "C"
