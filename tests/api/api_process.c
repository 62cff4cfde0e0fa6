/* api_process: processes end to end from a plain C program built with -fshort-wchar, as CE
 * sources are, against a private kernel whose object store holds the child program ce_proc
 * (\Windows\ce_proc.exe, and a copy without the execute bit, \Windows\noexec.exe), a script
 * (\tool.sh, "exit 7"), one whose interpreter is missing (\noint.exe) and a file that is no
 * program (\Windows\data.exe); misc_kernel_test.cpp
 * puts them there. CreateProcessW's refused arguments and missing or bad images with CE 5's
 * codes, exit codes (all 32 bits, ExitThread of the primary thread, a SIGKILL), what the
 * kernel starts a program with and the program puts away before WinMain, waits on a
 * process mixed with an event, TerminateProcess of a child blocked in a wait, CREATE_SUSPENDED,
 * OpenProcess, toolhelp, and the child's view of its command line and module name. Nothing
 * waits without a time-out. Exits 0 and prints "ok" when every check passed; prints each failed
 * check. */
#include <tlhelp32.h>
#include <windows.h>

#include <stdio.h>

static int failures = 0;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "api_process: line %d: %s (last error %u)\n", __LINE__, #cond, \
                    (unsigned)GetLastError());                                            \
            ++failures;                                                                   \
        }                                                                                 \
    } while (0)

#define LONG_WAIT 30000 /* ms: a bound that a passing run never reaches */

static BOOL create(const WCHAR* image, const WCHAR* line, DWORD flags, PROCESS_INFORMATION* pi) {
    return CreateProcessW(image, line, NULL, NULL, FALSE, flags, NULL, NULL, NULL, pi);
}

/* Runs ce_proc with `line` and returns its exit code (0xFFFFFFFF when it could not). */
static DWORD run(const WCHAR* image, const WCHAR* line) {
    PROCESS_INFORMATION pi;
    DWORD code = 0xFFFFFFFF;
    if (!create(image, line, 0, &pi)) return code;
    if (WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0)
        GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return code;
}

static int same_text(const WCHAR* a, const WCHAR* b) {
    while (*a != 0 && *a == *b) ++a, ++b;
    return *a == *b;
}

/* Toolhelp while `child` (ce_proc, started by this process) runs: both processes listed, with
 * names, parents and threads; the child's primary thread; this program's module. */
static void check_toolhelp(const PROCESS_INFORMATION* child) {
    HANDLE snap =
        CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS | TH32CS_SNAPTHREAD | TH32CS_SNAPMODULE, 0);
    CHECK(snap != INVALID_HANDLE_VALUE);
    PROCESSENTRY32 pe;
    pe.dwSize = sizeof pe - 1;
    CHECK(!Process32First(snap, &pe) && GetLastError() == ERROR_INVALID_PARAMETER);
    pe.dwSize = sizeof pe;
    int seen_child = 0, seen_self = 0, entries = 0;
    for (BOOL more = Process32First(snap, &pe); more; more = Process32Next(snap, &pe)) {
        ++entries;
        if (pe.th32ProcessID == child->dwProcessId) {
            seen_child = 1;
            CHECK(same_text(pe.szExeFile, L"ce_proc.exe"));
            CHECK(pe.th32ParentProcessID == GetCurrentProcessId());
            CHECK(pe.cntThreads >= 1);
        }
        if (pe.th32ProcessID == GetCurrentProcessId()) {
            seen_self = 1;
            CHECK(pe.th32ParentProcessID == 0); /* started from a shell */
        }
    }
    CHECK(GetLastError() == ERROR_NO_MORE_FILES);
    CHECK(seen_child && seen_self && entries >= 2);
    THREADENTRY32 te;
    te.dwSize = sizeof te;
    int seen_primary = 0;
    for (BOOL more = Thread32First(snap, &te); more; more = Thread32Next(snap, &te))
        if (te.th32ThreadID == child->dwThreadId)
            seen_primary = te.th32OwnerProcessID == child->dwProcessId && te.tpBasePri == 251;
    CHECK(seen_primary);
    MODULEENTRY32 me;
    me.dwSize = sizeof me;
    CHECK(Module32First(snap, &me));
    CHECK(me.hModule == GetModuleHandleW(NULL) && me.th32ProcessID == GetCurrentProcessId());
    CHECK(!Module32Next(snap, &me) && GetLastError() == ERROR_NO_MORE_FILES);
    CHECK(CloseToolhelp32Snapshot(snap));
    CHECK(!CloseToolhelp32Snapshot(snap) && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(!Process32First(snap, &pe) && GetLastError() == ERROR_INVALID_HANDLE);
}

/* A command line for ce_proc's "long" check, `n` units (10000 to 99999) long, in `line`. */
static void long_line(WCHAR* line, DWORD n) {
    const WCHAR head[] = L"long ";
    for (DWORD i = 0; i < 5; ++i) line[i] = head[i];
    for (DWORD i = 0, v = n; i < 5; ++i, v /= 10) line[9 - i] = (WCHAR)('0' + v % 10);
    line[10] = ' ';
    for (DWORD i = 11; i < n; ++i) line[i] = (WCHAR)('a' + i % 26);
    line[n] = 0;
}

static DWORD refused(const WCHAR* image, BOOL inherit, DWORD flags, void* env, const WCHAR* dir) {
    PROCESS_INFORMATION pi;
    SetLastError(0);
    if (CreateProcessW(image, NULL, NULL, NULL, inherit, flags, env, dir, NULL, &pi)) return 0;
    return GetLastError();
}

int main(void) {
    /* GetProcessId is CE 6's: under CE 5 it fails (ERROR_CALL_NOT_IMPLEMENTED). */
    const int ce6 = GetProcessId(GetCurrentProcess()) != 0;
    /* CE 5's argument checks, all ERROR_INVALID_PARAMETER, before the image is looked for. */
    WCHAR long_name[MAX_PATH + 1];
    for (int i = 0; i < MAX_PATH; ++i) long_name[i] = 'a';
    long_name[MAX_PATH] = 0;
    int env = 0;
    CHECK(refused(NULL, FALSE, 0, NULL, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(refused(L"ce_proc", TRUE, 0, NULL, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(refused(L"ce_proc", FALSE, 0x8, NULL, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(refused(L"ce_proc", FALSE, 0, &env, NULL) == ERROR_INVALID_PARAMETER);
    CHECK(refused(L"ce_proc", FALSE, 0, NULL, L"\\") == ERROR_INVALID_PARAMETER);
    /* CE 6 copies the name as a path, and a name that long is ERROR_BAD_PATHNAME. */
    CHECK(refused(long_name, FALSE, 0, NULL, NULL) ==
          (ce6 ? ERROR_BAD_PATHNAME : ERROR_INVALID_PARAMETER));
    long_name[MAX_PATH - 1] = 0; /* 259 characters: a name, just not of anything */
    CHECK(refused(long_name, FALSE, 0, NULL, NULL) == ERROR_FILE_NOT_FOUND);
    CHECK(refused(L"missing", FALSE, 0, NULL, NULL) == ERROR_FILE_NOT_FOUND);
    CHECK(refused(L"\\Windows\\missing.exe", FALSE, 0, NULL, NULL) == ERROR_FILE_NOT_FOUND);
    CHECK(refused(L"data", FALSE, 0, NULL, NULL) == ERROR_BAD_EXE_FORMAT);
    /* A script whose interpreter is missing: the host cannot run it. */
    CHECK(refused(L"\\noint.exe", FALSE, 0, NULL, NULL) == ERROR_BAD_EXE_FORMAT);

    /* Found in \Windows with ".exe" added; ids are the handle values (CE 6: values of their
     * own); the exit code is WinMain's, all 32 bits of it. */
    PROCESS_INFORMATION pi;
    CHECK(create(L"ce_proc", L"exit 42", 0, &pi));
    CHECK(((DWORD)(UINT_PTR)pi.hProcess == pi.dwProcessId) == !ce6);
    CHECK(((DWORD)(UINT_PTR)pi.hThread == pi.dwThreadId) == !ce6);
    CHECK(pi.dwProcessId != GetCurrentProcessId());
    CHECK(WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0);
    DWORD code = 0;
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 42);
    CHECK(WaitForSingleObject(pi.hThread, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(pi.hThread, &code) && code == 42); /* the primary thread's */
    /* An ended process: still readable, not terminable; waits stay satisfied. */
    CHECK(!TerminateProcess(pi.hProcess, 1) &&
          GetLastError() == (ce6 ? ERROR_INVALID_HANDLE : ERROR_ACCESS_DENIED));
    CHECK(WaitForSingleObject(pi.hProcess, 0) == WAIT_OBJECT_0);
    CHECK(!GetExitCodeProcess(pi.hProcess, NULL) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(CloseHandle(pi.hThread));
    CHECK(CloseHandle(pi.hProcess));
    CHECK(!GetExitCodeProcess(pi.hProcess, &code) && GetLastError() == ERROR_INVALID_HANDLE);

    CHECK(run(L"\\Windows\\ce_proc.exe", L"exit 3735928559") == 0xDEADBEEF);
    /* A code the host's exit status carries whole comes from it; one more needs telling,
     * whether the program ends through ExitProcess (WinMain's return) or the C library. */
    CHECK(run(L"ce_proc", L"exit 255") == 255);
    CHECK(run(L"ce_proc", L"exit 256") == 256);
    CHECK(run(L"ce_proc", L"cexit 255") == 255);
    CHECK(run(L"ce_proc", L"cexit 256") == 256);
    CHECK(run(L"ce_proc", L"cexit 3735928559") == 0xDEADBEEF);
    CHECK(run(L"ce_proc", L"started") == 0);
    CHECK(run(L"ce_proc.exe", L"exitthread 9") == 9);
    CHECK(run(L"ce_proc", L"module \\Windows\\ce_proc.exe") == 0);
    CHECK(run(L"ce_proc", L"cmdline") == 0);
    /* Long command lines (staged before the call): CE 6 takes up to 16383 units; CE 5 has no
     * limit, and CEKernel takes 32767. One more is ERROR_INVALID_PARAMETER. */
    {
        static WCHAR line[32769];
        const DWORD longest = ce6 ? 16383 : 32767;
        long_line(line, 12345);
        CHECK(run(L"ce_proc", line) == 0);
        long_line(line, longest);
        CHECK(run(L"ce_proc", line) == 0);
        long_line(line, longest + 1);
        SetLastError(0);
        CHECK(!create(L"ce_proc", line, 0, &pi) && GetLastError() == ERROR_INVALID_PARAMETER);
        long_line(line, 32768); /* more than any the kernel takes: not even sent */
        SetLastError(0);
        CHECK(!create(L"ce_proc", line, 0, &pi) && GetLastError() == ERROR_INVALID_PARAMETER);
        /* The name's checks come first: CE 6's long name is ERROR_BAD_PATHNAME. */
        long_name[MAX_PATH - 1] = 'a';
        SetLastError(0);
        CHECK(!create(long_name, line, 0, &pi) &&
              GetLastError() == (ce6 ? ERROR_BAD_PATHNAME : ERROR_INVALID_PARAMETER));
    }
    /* The same program without the execute bit runs through the host's loader. */
    CHECK(run(L"noexec", L"exit 5") == 5);
    /* A script is a host program too (it never attaches: CreateProcessW returns at once). CE 6
     * looks only for the name with ".exe" appended, \tool.sh.exe. */
    if (ce6)
        CHECK(refused(L"\\tool.sh", FALSE, 0, NULL, NULL) == ERROR_FILE_NOT_FOUND);
    else
        CHECK(run(L"\\tool.sh", NULL) == 7);
    /* PROCESS_INFORMATION may be NULL: both handles are closed for the caller. */
    CHECK(CreateProcessW(L"ce_proc", L"exit 0", NULL, NULL, FALSE, 0, NULL, NULL, NULL, NULL));

    /* A child blocked in a wait: still active, then terminated while a wait over it and an
     * event is pending, with the code TerminateProcess gave. */
    HANDLE ready = CreateEventW(NULL, TRUE, FALSE, L"ce_proc_ready");
    HANDLE idle = CreateEventW(NULL, FALSE, FALSE, NULL);
    CHECK(create(L"ce_proc", L"wait", 0, &pi));
    CHECK(WaitForSingleObject(ready, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == STILL_ACTIVE);
    check_toolhelp(&pi);
    HANDLE both[2] = {idle, pi.hProcess};
    CHECK(WaitForMultipleObjects(2, both, FALSE, 0) == WAIT_TIMEOUT);
    /* OpenProcess: the same value, one more reference (CE 6: a new value); the refusals. */
    HANDLE opened = OpenProcess(PROCESS_ALL_ACCESS, FALSE, pi.dwProcessId);
    CHECK(opened != NULL && (opened == pi.hProcess) == !ce6);
    CHECK(OpenProcess(0, TRUE, pi.dwProcessId) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(OpenProcess(0, FALSE, 0x1234) == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(OpenProcess(0, FALSE, (DWORD)(UINT_PTR)idle) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(TerminateProcess(pi.hProcess, 99));
    CHECK(WaitForMultipleObjects(2, both, FALSE, LONG_WAIT) == WAIT_OBJECT_0 + 1);
    CHECK(GetExitCodeProcess(opened, &code) && code == 99);
    CHECK(GetExitCodeThread(pi.hThread, &code) && code == 99);
    CHECK(CloseHandle(opened));
    CHECK(CloseHandle(pi.hProcess));
    CHECK(CloseHandle(pi.hThread));
    CHECK(!TerminateProcess((HANDLE)0x1234, 1) && GetLastError() == ERROR_INVALID_HANDLE);

    /* CREATE_SUSPENDED: nothing of the program runs until its primary thread is resumed. */
    HANDLE ran = CreateEventW(NULL, TRUE, FALSE, L"ce_proc_ran");
    CHECK(create(L"ce_proc", L"ran", CREATE_SUSPENDED, &pi));
    CHECK(WaitForSingleObject(ran, 200) == WAIT_TIMEOUT); /* a bounded observation */
    CHECK(ResumeThread(pi.hThread) == 1);
    CHECK(WaitForSingleObject(ran, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 0);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    /* TerminateThread of another process's primary thread ends that process with the code,
     * whether the thread runs or is still held by CREATE_SUSPENDED. */
    CHECK(create(L"ce_proc", L"ran", CREATE_SUSPENDED, &pi));
    CHECK(TerminateThread(pi.hThread, 42));
    CHECK(WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 42);
    CHECK(GetExitCodeThread(pi.hThread, &code) && code == 42);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CHECK(ResetEvent(ready)); /* the earlier child set it */
    CHECK(create(L"ce_proc", L"wait", 0, &pi));
    CHECK(WaitForSingleObject(ready, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(SuspendThread(pi.hThread) == 0); /* its agent parks it, inside its wait */
    CHECK(ResumeThread(pi.hThread) == 1);
    CHECK(TerminateThread(pi.hThread, 43));
    CHECK(WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 43);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    /* A child killed with SIGKILL: a code all the same (128 + 9), and what it held is released
     * (its mutex is abandoned). */
    HANDLE held = CreateMutexW(NULL, FALSE, L"ce_proc_mutex");
    CHECK(create(L"ce_proc", L"hold", 0, &pi));
    CHECK(WaitForSingleObject(pi.hProcess, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 137);
    CHECK(WaitForSingleObject(held, LONG_WAIT) == WAIT_ABANDONED);
    CHECK(ReleaseMutex(held));
    CloseHandle(held);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);

    /* This process: its id is a handle value too (CE 6: OpenProcess makes one); GetCurrentProcess()
     * names it. */
    HANDLE me = OpenProcess(0, FALSE, GetCurrentProcessId());
    CHECK(me != NULL && (me == (HANDLE)(UINT_PTR)GetCurrentProcessId()) == !ce6);
    CHECK(GetExitCodeProcess(GetCurrentProcess(), &code) && code == STILL_ACTIVE);
    CHECK(WaitForSingleObject(GetCurrentProcess(), 0) == WAIT_TIMEOUT);
    CHECK(CloseHandle(me));
    WCHAR path[MAX_PATH];
    CHECK(GetModuleFileNameW(NULL, path, MAX_PATH) > 0 && path[0] == '\\');

    CloseHandle(ready);
    CloseHandle(idle);
    CloseHandle(ran);
    if (failures == 0) printf("ok\n");
    return failures == 0 ? 0 : 1;
}
