/* coredll-winmain: the main() of a CE program. CE starts a program at WinMain (or wWinMain)
 * with its module handle and its command line without the program name; link this library
 * (pkg-config coredll-winmain) and a CE source builds unchanged. The program's return value is
 * its exit code, all 32 bits of it (ExitProcess tells the kernel before the host process ends).
 */
#include <stdio.h>
#include <windows.h>

int WINAPI WinMain(HINSTANCE, HINSTANCE, LPWSTR, int) __attribute__((weak));
int WINAPI wWinMain(HINSTANCE, HINSTANCE, LPWSTR, int) __attribute__((weak));

int main(void) {
    HINSTANCE self = GetModuleHandleW(NULL);
    LPWSTR line = GetCommandLineW();
    int code;
    if (wWinMain != NULL) {
        code = wWinMain(self, NULL, line, SW_SHOWNORMAL);
    } else if (WinMain != NULL) {
        code = WinMain(self, NULL, line, SW_SHOWNORMAL);
    } else {
        fputs("coredll-winmain: the program defines neither WinMain nor wWinMain\n", stderr);
        return 1;
    }
    ExitProcess((UINT)code);
}
