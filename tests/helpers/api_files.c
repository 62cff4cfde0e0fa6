/* api_files: the file API end to end from a plain C program built with -fshort-wchar, the way
 * CE sources are built. Exits 0 when every check passed; prints each failed check. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "api_files: line %d: %s (last error %u)\n", __LINE__, #cond, \
                    (unsigned)GetLastError());                                       \
            ++failures;                                                              \
        }                                                                            \
    } while (0)

int main(void) {
    /* Directories and attributes. */
    CHECK(CreateDirectoryW(L"\\Temp\\api", NULL));
    CHECK(!CreateDirectoryW(L"\\TEMP\\API", NULL) && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK(GetFileAttributesW(L"\\temp\\api") & FILE_ATTRIBUTE_DIRECTORY);
    CHECK(GetFileAttributesW(L"\\temp\\missing") == INVALID_FILE_ATTRIBUTES &&
          GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(GetFileAttributesW(L"\\temp\\a|b") == INVALID_FILE_ATTRIBUTES &&
          GetLastError() == ERROR_INVALID_NAME);

    /* Create, write, read back, pointer and size. */
    SetLastError(12345);
    HANDLE f = CreateFileW(L"\\Temp\\api\\Data.txt", GENERIC_READ | GENERIC_WRITE, 0, NULL,
                           CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(f != INVALID_HANDLE_VALUE);
    CHECK(GetLastError() == 0);
    DWORD n = 0;
    CHECK(WriteFile(f, "0123456789", 10, &n, NULL) && n == 10);
    CHECK(GetFileSize(f, NULL) == 10);
    CHECK(SetFilePointer(f, 2, NULL, FILE_BEGIN) == 2);
    char buf[16] = {0};
    CHECK(ReadFile(f, buf, 3, &n, NULL) && n == 3 && memcmp(buf, "234", 3) == 0);
    CHECK(SetFilePointer(f, -1, NULL, FILE_CURRENT) == 4);
    CHECK(SetFilePointer(f, -100, NULL, FILE_BEGIN) == INVALID_SET_FILE_POINTER &&
          GetLastError() == ERROR_NEGATIVE_SEEK);
    CHECK(SetFilePointer(f, 6, NULL, FILE_BEGIN) == 6 && SetEndOfFile(f));
    CHECK(GetFileSize(f, NULL) == 6);
    SetFilePointer(f, 0, NULL, FILE_END);
    SetLastError(777);
    CHECK(ReadFile(f, buf, 4, &n, NULL) && n == 0 && GetLastError() == 777); /* EOF */
    CHECK(FlushFileBuffers(f));
    BY_HANDLE_FILE_INFORMATION info;
    CHECK(GetFileInformationByHandle(f, &info) && info.nFileSizeLow == 6 &&
          (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0);
    FILETIME when = {0x12345678u, 0x01d00000u}, got;
    CHECK(SetFileTime(f, NULL, NULL, &when));
    CHECK(GetFileTime(f, NULL, NULL, &got) && got.dwHighDateTime == when.dwHighDateTime &&
          got.dwLowDateTime / 10 == when.dwLowDateTime / 10);

    /* Sharing within one process and the open-file rules. */
    CHECK(CreateFileW(L"\\temp\\API\\data.TXT", GENERIC_READ, FILE_SHARE_READ, NULL,
                      OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE &&
          GetLastError() == ERROR_SHARING_VIOLATION);
    CHECK(!DeleteFileW(L"\\Temp\\api\\data.txt") && GetLastError() == ERROR_SHARING_VIOLATION);
    CHECK(!MoveFileW(L"\\Temp\\api", L"\\Temp\\api2") && GetLastError() == ERROR_SHARING_VIOLATION);
    CHECK(CloseHandle(f));
    CHECK(!CloseHandle(f) && GetLastError() == ERROR_INVALID_HANDLE);

    /* Dispositions and ERROR_ALREADY_EXISTS on success. */
    f = CreateFileW(L"\\Temp\\api\\data.txt", GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, 0, NULL);
    CHECK(f != INVALID_HANDLE_VALUE && GetLastError() == ERROR_ALREADY_EXISTS);
    CHECK(!ReadFile(f, buf, 1, &n, NULL) && GetLastError() == ERROR_ACCESS_DENIED);
    CloseHandle(f);
    CHECK(CreateFileW(L"\\Temp\\api\\data.txt", GENERIC_READ, 0, NULL, CREATE_NEW, 0, NULL) ==
              INVALID_HANDLE_VALUE &&
          GetLastError() == ERROR_FILE_EXISTS);
    CHECK(CreateFileW(L"\\Temp\\nowhere\\x.txt", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) ==
              INVALID_HANDLE_VALUE &&
          GetLastError() == ERROR_PATH_NOT_FOUND);

    /* Copy, move, read-only, find. */
    CHECK(CopyFileW(L"\\Temp\\api\\data.txt", L"\\Temp\\api\\copy.txt", TRUE));
    CHECK(!CopyFileW(L"\\Temp\\api\\data.txt", L"\\Temp\\api\\copy.txt", TRUE) &&
          GetLastError() == ERROR_FILE_EXISTS);
    CHECK(MoveFileW(L"\\Temp\\api\\copy.txt", L"\\Temp\\api\\moved.txt"));
    CHECK(SetFileAttributesW(L"\\Temp\\api\\moved.txt", FILE_ATTRIBUTE_READONLY));
    CHECK(GetFileAttributesW(L"\\Temp\\api\\moved.txt") & FILE_ATTRIBUTE_READONLY);
    CHECK(CreateFileW(L"\\Temp\\api\\moved.txt", GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0,
                      NULL) == INVALID_HANDLE_VALUE &&
          GetLastError() == ERROR_ACCESS_DENIED);
    CHECK(!DeleteFileW(L"\\Temp\\api\\moved.txt") && GetLastError() == ERROR_ACCESS_DENIED);

    WIN32_FIND_DATAW fd;
    HANDLE search = FindFirstFileW(L"\\Temp\\api\\*.txt", &fd);
    CHECK(search != INVALID_HANDLE_VALUE);
    int found = 1;
    while (FindNextFileW(search, &fd)) ++found;
    CHECK(GetLastError() == ERROR_NO_MORE_FILES);
    CHECK(found == 2);
    CHECK(FindClose(search));
    CHECK(FindFirstFileW(L"\\Temp\\api\\*.none", &fd) == INVALID_HANDLE_VALUE &&
          GetLastError() == ERROR_FILE_NOT_FOUND);

    CHECK(SetFileAttributesW(L"\\Temp\\api\\moved.txt", FILE_ATTRIBUTE_NORMAL));
    CHECK(DeleteFileW(L"\\Temp\\api\\moved.txt"));
    CHECK(!RemoveDirectoryW(L"\\Temp\\api") && GetLastError() == ERROR_DIR_NOT_EMPTY);
    CHECK(DeleteFileW(L"\\Temp\\api\\data.txt"));
    CHECK(RemoveDirectoryW(L"\\Temp\\api"));

    /* A plain CreateFileW handle backs a mapping in CE 6 only (GetProcessId tells them apart:
     * CE 5 lacks it). CE 5 extends the file before it refuses the handle. */
    const int ce6 = GetProcessId(GetCurrentProcess()) != 0;
    f = CreateFileW(L"\\Temp\\plain.bin", GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0,
                    NULL);
    HANDLE plain = CreateFileMappingW(f, NULL, PAGE_READWRITE, 0, 4096, NULL);
    if (ce6)
        CHECK(plain != NULL && CloseHandle(plain));
    else
        CHECK(plain == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(GetFileSize(f, NULL) == 4096);
    CHECK(CloseHandle(f));

    if (failures == 0) printf("ok\n");
    return failures == 0 ? 0 : 1;
}
