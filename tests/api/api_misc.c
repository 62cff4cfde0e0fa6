/* api_misc: the misc coredll API end to end from a plain C program built with -fshort-wchar,
 * the way CE sources are built, against a kernel (the path queries and the process id need
 * one). Exits 0 when every check passed; prints each failed check. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "api_misc: line %d: %s (last error %u)\n", __LINE__, #cond, \
                    (unsigned)GetLastError());                                       \
            ++failures;                                                              \
        }                                                                            \
    } while (0)

typedef DWORD(WINAPI* TickFn)(void);

/* glibc's wide functions expect a 4-byte wchar_t: compare 16-bit strings ourselves. */
static int same(const WCHAR* a, const WCHAR* b) {
    while (*a != 0 && *a == *b) ++a, ++b;
    return *a == *b;
}

int main(void) {
    /* GetFileAttributesExW: attributes, size and times by path in one call. */
    HANDLE f = CreateFileW(L"\\Temp\\info.bin", GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
    CHECK(f != INVALID_HANDLE_VALUE);
    DWORD n = 0;
    CHECK(WriteFile(f, "0123456789", 10, &n, NULL) && n == 10);
    FILETIME when = {0x12345670u, 0x01d00000u};
    CHECK(SetFileTime(f, NULL, NULL, &when));
    CHECK(CloseHandle(f));
    WIN32_FILE_ATTRIBUTE_DATA data;
    memset(&data, 0xCC, sizeof data);
    CHECK(GetFileAttributesExW(L"\\TEMP\\INFO.BIN", GetFileExInfoStandard, &data));
    CHECK(data.nFileSizeLow == 10 && data.nFileSizeHigh == 0);
    CHECK((data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0);
    CHECK(data.dwFileAttributes == GetFileAttributesW(L"\\Temp\\info.bin"));
    CHECK(data.ftLastWriteTime.dwHighDateTime == when.dwHighDateTime &&
          data.ftLastWriteTime.dwLowDateTime / 10 == when.dwLowDateTime / 10);
    CHECK(GetFileAttributesExW(L"\\Temp", GetFileExInfoStandard, &data) &&
          (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && data.nFileSizeLow == 0);
    CHECK(GetFileAttributesExW(L"\\", GetFileExInfoStandard, &data) &&
          (data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY));
    CHECK(!GetFileAttributesExW(L"\\Temp\\missing", GetFileExInfoStandard, &data) &&
          GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(!GetFileAttributesExW(L"\\nowhere\\x", GetFileExInfoStandard, &data) &&
          GetLastError() == ERROR_PATH_NOT_FOUND);
    CHECK(!GetFileAttributesExW(L"\\Temp\\a*b", GetFileExInfoStandard, &data) &&
          GetLastError() == ERROR_INVALID_NAME);
    CHECK(!GetFileAttributesExW(L"\\Temp\\info.bin", GetFileExMaxInfoLevel, &data) &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!GetFileAttributesExW(L"\\Temp\\info.bin", GetFileExInfoStandard, NULL) &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(DeleteFileW(L"\\Temp\\info.bin"));

    /* GetDiskFreeSpaceExW of the object store's volume. */
    ULARGE_INTEGER caller, total, free_bytes;
    CHECK(GetDiskFreeSpaceExW(NULL, &caller, &total, &free_bytes));
    CHECK(total.QuadPart > 0 && free_bytes.QuadPart <= total.QuadPart &&
          caller.QuadPart <= free_bytes.QuadPart);
    CHECK(GetDiskFreeSpaceExW(L"\\Temp", NULL, &total, NULL) && total.QuadPart > 0);
    CHECK(!GetDiskFreeSpaceExW(L"\\nowhere", &caller, NULL, NULL) &&
          GetLastError() == ERROR_PATH_NOT_FOUND);

    /* The process id is the kernel's; the thread id is stable. */
    CHECK(GetCurrentProcessId() != 0 && GetCurrentProcessId() == GetCurrentProcessId());
    CHECK(GetCurrentThreadId() == GetCurrentThreadId());

    /* Strings with L"..." literals as wchar_t. */
    char narrow[16];
    CHECK(WideCharToMultiByte(CP_ACP, 0, L"\x20AC\x00E9", -1, narrow, 16, NULL, NULL) == 3 &&
          strcmp(narrow, "\x80\xE9") == 0);
    WCHAR wide[16];
    CHECK(MultiByteToWideChar(CP_UTF8, 0, "\xC3\xA9t\xC3\xA9", -1, wide, 16) == 4 &&
          same(wide, L"\x00E9t\x00E9"));
    WCHAR up[] = L"sqlite";
    CHECK(CharUpperW(up) == up && same(up, L"SQLITE"));

    /* coredll itself, as CE programs look up optional entry points. */
    HMODULE core = LoadLibraryW(L"coredll.dll");
    CHECK(core != NULL);
    TickFn tick = (TickFn)GetProcAddressW(core, L"GetTickCount");
    CHECK(tick != NULL && (DWORD)(tick() - GetTickCount()) < 1000);
    CHECK(GetProcAddressA(core, "MultiByteToWideChar") == (FARPROC)MultiByteToWideChar);
    CHECK(FreeLibrary(core));

    /* Heaps, critical sections, messages, time and the system. */
    HANDLE heap = HeapCreate(0, 0, 0);
    void* p = HeapAlloc(heap, HEAP_ZERO_MEMORY, 100);
    CHECK(p != NULL && HeapSize(heap, 0, p) == 100);
    CHECK(HeapDestroy(heap));
    CRITICAL_SECTION cs;
    InitializeCriticalSection(&cs);
    EnterCriticalSection(&cs);
    CHECK(TryEnterCriticalSection(&cs) && cs.LockCount == 2);
    LeaveCriticalSection(&cs);
    LeaveCriticalSection(&cs);
    DeleteCriticalSection(&cs);
    LPWSTR msg = NULL;
    CHECK(FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_ALLOCATE_BUFFER |
                             FORMAT_MESSAGE_IGNORE_INSERTS,
                         NULL, ERROR_SHARING_VIOLATION, 0, (LPWSTR)&msg, 0, NULL) > 0 &&
          msg != NULL);
    CHECK(LocalFree(msg) == NULL);
    SYSTEMTIME st;
    FILETIME ft;
    GetSystemTime(&st);
    CHECK(SystemTimeToFileTime(&st, &ft) && st.wYear >= 2024);
    OSVERSIONINFO v;
    v.dwOSVersionInfoSize = sizeof v;
    const DWORD major = GetProcessId(GetCurrentProcess()) != 0 ? 6 : 5; /* CE 6 has GetProcessId */
    CHECK(GetVersionEx(&v) && v.dwMajorVersion == major && v.dwPlatformId == VER_PLATFORM_WIN32_CE);
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    CHECK(si.dwPageSize == 4096 && si.dwAllocationGranularity == 65536);
    LONG counter = 0;
    CHECK(InterlockedIncrement(&counter) == 1 && InterlockedCompareExchange(&counter, 5, 1) == 1 &&
          counter == 5);
    OutputDebugStringW(L"api_misc: debug output\r\n");

    if (failures == 0) printf("ok\n");
    return failures == 0 ? 0 : 1;
}
