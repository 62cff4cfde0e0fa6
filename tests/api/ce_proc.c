/* ce_proc: the child program of api_process, a CE program as CE sources are written: it starts
 * at WinMain (coredll-winmain provides main) and does what its command line says:
 *   exit N          returns N from WinMain (the process's exit code, all 32 bits)
 *   cexit N         calls the C library's exit(N), as a program with main() ends
 *   exitthread N    ExitThread(N) on the primary thread: the process ends with N
 *   module PATH     exits 0 when GetModuleFileNameW and GetModuleHandleW(NULL) are right
 *   cmdline         exits 0 when lpCmdLine is GetCommandLineW() and reads "cmdline"
 *   long NNNNN ...  exits 0 when the line is NNNNN units long (five digits), unit i from 11 on
 *                   being 'a' + i % 26, and is GetCommandLineW()
 *   ran             sets the event "ce_proc_ran", then exits 0
 *   wait            sets "ce_proc_ready", then waits for ever (until terminated)
 *   hold            takes the mutex "ce_proc_mutex" (its creator made it), then raises SIGKILL
 *   started         exits 0 when what the kernel started it with is put away before WinMain:
 *                   no CEK_KERNEL_FD, CEK_IMAGE or CEK_CMDLINE in its environment, and its
 *                   connection (descriptor 3) not inherited by what it runs (close-on-exec)
 * Built with -fshort-wchar, so the C library's wide-string functions (4-byte wchar_t) are not
 * used.
 */
#include <windows.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>

static DWORD length(const WCHAR* s) {
    DWORD n = 0;
    while (s[n] != 0) ++n;
    return n;
}

static int same(const WCHAR* a, const WCHAR* b) {
    while (*a != 0 && *a == *b) ++a, ++b;
    return *a == *b;
}

static int starts_with(const WCHAR* s, const WCHAR* prefix) {
    while (*prefix != 0)
        if (*s++ != *prefix++) return 0;
    return 1;
}

static DWORD number(const WCHAR* s) {
    DWORD n = 0;
    while (*s >= '0' && *s <= '9') n = n * 10 + (DWORD)(*s++ - '0');
    return n;
}

static void set_named(const WCHAR* name) {
    HANDLE e = CreateEventW(NULL, TRUE, FALSE, name);
    SetEvent(e);
    CloseHandle(e);
}

int WINAPI WinMain(HINSTANCE instance, HINSTANCE previous, LPWSTR line, int show) {
    (void)show;
    if (previous != NULL) return 100;
    if (starts_with(line, L"exit ")) return (int)number(line + 5);
    if (starts_with(line, L"cexit ")) exit((int)number(line + 6));
    if (starts_with(line, L"exitthread ")) {
        ExitThread(number(line + 11));
        return 101;
    }
    if (starts_with(line, L"module ")) {
        WCHAR path[MAX_PATH];
        DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
        if (n != length(line + 7) || !same(path, line + 7)) return 1;
        if (GetModuleFileNameW(instance, path, MAX_PATH) != n) return 2;
        if (instance != GetModuleHandleW(NULL)) return 3;
        /* A short buffer: as much as fits, terminated. */
        if (GetModuleFileNameW(NULL, path, 4) != 3 || path[3] != 0) return 4;
        return 0;
    }
    if (same(line, L"cmdline")) return line == GetCommandLineW() ? 0 : 1;
    if (starts_with(line, L"long ")) {
        const DWORD n = length(line);
        if (n != number(line + 5) || line != GetCommandLineW()) return 1;
        for (DWORD i = 11; i < n; ++i)
            if (line[i] != (WCHAR)('a' + i % 26)) return 2;
        return 0;
    }
    if (same(line, L"ran")) {
        set_named(L"ce_proc_ran");
        return 0;
    }
    if (same(line, L"wait")) {
        HANDLE never = CreateEventW(NULL, TRUE, FALSE, NULL);
        set_named(L"ce_proc_ready");
        WaitForSingleObject(never, INFINITE);
        return 102;
    }
    if (same(line, L"hold")) {
        HANDLE m = CreateMutexW(NULL, FALSE, L"ce_proc_mutex");
        if (WaitForSingleObject(m, 30000) != WAIT_OBJECT_0) return 106;
        raise(SIGKILL);
        return 103;
    }
    if (same(line, L"started")) {
        if (getenv("CEK_KERNEL_FD") != NULL) return 1;
        if (getenv("CEK_IMAGE") != NULL || getenv("CEK_CMDLINE") != NULL) return 2;
        const int flags = fcntl(3, F_GETFD);
        if (flags < 0) return 3; /* the connection is there: the shim took it, not closed it */
        if ((flags & FD_CLOEXEC) == 0) return 4;
        return 0;
    }
    return 105;
}
