/* ce_noop: the child of ce_bench's `process` row, a program that does nothing and exits 0.
 *
 * One source, built twice by meson.build, as ce_bench.c is:
 *   - ce_noop (CE_NOOP_COREDLL defined), linked with libcoredll: a CE program (the shim attaches
 *     it to the kernel before main and reports its exit code after main), which cek_bench.py
 *     copies into the kernel's object store as \Windows\ce_noop.exe;
 *   - ce_noop_host, linked with the C library only: the floor's child, the least a program
 *     costs to start and reap on this host.
 * cek_bench.py also builds it with mingw-w64 as ce_noop.exe, beside ce_bench.exe, for Wine.
 */
#ifdef CE_NOOP_COREDLL
#include <windows.h>

/* Never called. The linker drops a library the program does not use (--as-needed), and the
 * kernel tells a CE program by its libcoredll: this reference keeps it, as a real program's
 * calls would. */
BOOL(WINAPI* volatile ce_noop_uses_coredll)(HANDLE) = CloseHandle;
#endif

int main(void) { return 0; }
