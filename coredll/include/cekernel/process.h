/* Processes (ce-kernel-objects.md §1; docs/semantics/processes.md). CE 5: a process id is its
 * handle value; GetCurrentProcess() is the pseudo-handle 0x42. Part of <windows.h>. */
#ifndef CEKERNEL_PROCESS_H
#define CEKERNEL_PROCESS_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DEBUG_PROCESS 0x00000001
#define DEBUG_ONLY_THIS_PROCESS 0x00000002
#define CREATE_NEW_CONSOLE 0x00000010
#define INHERIT_CALLER_PRIORITY 0x00020000
#define PROCESS_ALL_ACCESS 0x001F0FFF
#define PROCESS_TERMINATE 0x0001
#define PROCESS_QUERY_INFORMATION 0x0400
#define SW_HIDE 0
#define SW_SHOWNORMAL 1
#define SW_SHOW 5

typedef struct _PROCESS_INFORMATION {
    HANDLE hProcess;
    HANDLE hThread;
    DWORD dwProcessId;
    DWORD dwThreadId;
} PROCESS_INFORMATION, *LPPROCESS_INFORMATION, *PPROCESS_INFORMATION;

/* CE ignores the start-up information; the type is here so that sources compile. */
typedef struct _STARTUPINFOW {
    DWORD cb;
    LPWSTR lpReserved;
    LPWSTR lpDesktop;
    LPWSTR lpTitle;
    DWORD dwX, dwY, dwXSize, dwYSize, dwXCountChars, dwYCountChars, dwFillAttribute, dwFlags;
    WORD wShowWindow;
    WORD cbReserved2;
    BYTE* lpReserved2;
    HANDLE hStdInput, hStdOutput, hStdError;
} STARTUPINFOW, *LPSTARTUPINFOW, STARTUPINFO, *LPSTARTUPINFO;

/* The image is looked up in the object store (\Windows, the root, HKLM\Loader\SystemPath; the
 * name, then the name with .exe); an ELF program or a #! script there is run as the process. */
WINBASEAPI BOOL WINAPI CreateProcessW(LPCWSTR pszImageName, LPCWSTR pszCmdLine,
                                      LPSECURITY_ATTRIBUTES psaProcess,
                                      LPSECURITY_ATTRIBUTES psaThread, BOOL fInheritHandles,
                                      DWORD fdwCreate, LPVOID pvEnvironment, LPCWSTR pszCurDir,
                                      LPSTARTUPINFOW psiStartInfo,
                                      LPPROCESS_INFORMATION pProcInfo);
WINBASEAPI HANDLE WINAPI OpenProcess(DWORD fdwAccess, BOOL fInherit, DWORD IDProcess);
/* CE 6 and later (under ce5 they fail with ERROR_CALL_NOT_IMPLEMENTED): a handle on a thread by
 * its id, and the ids behind handles. */
WINBASEAPI HANDLE WINAPI OpenThread(DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwThreadId);
WINBASEAPI DWORD WINAPI GetThreadId(HANDLE hThread);
WINBASEAPI DWORD WINAPI GetProcessId(HANDLE hProcess);
WINBASEAPI DWORD WINAPI GetProcessIdOfThread(HANDLE hThread);
WINBASEAPI BOOL WINAPI TerminateProcess(HANDLE hProcess, DWORD uExitCode);
WINBASEAPI void WINAPI ExitProcess(UINT uExitCode) __attribute__((noreturn));
WINBASEAPI BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode);
/* The command line the creator passed (without the program name). */
WINBASEAPI LPWSTR WINAPI GetCommandLineW(void);
/* NULL (or the program's own module): the program's CE path. */
WINBASEAPI DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize);
WINBASEAPI HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName);

/* A CE program's entry point, one or the other: link coredll-winmain (pkg-config), which
 * provides main(). */
int WINAPI WinMain(HINSTANCE hInstance, HINSTANCE hPrevInstance, LPWSTR lpCmdLine, int nShowCmd);
int WINAPI wWinMain(HINSTANCE hInstance, HINSTANCE hPrevInstance, LPWSTR lpCmdLine, int nShowCmd);

#ifdef __cplusplus
}
#endif

#endif /* CEKERNEL_PROCESS_H */
