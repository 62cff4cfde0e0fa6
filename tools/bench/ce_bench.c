/* ce_bench: the benchmark program of CEKernel's benchmark suite (driven by cek_bench.py).
 *
 * One portable C source that uses only Win32 names for what it measures. It is built three ways
 * and the three builds are run interleaved by the script:
 *   - against libcoredll (CEKernel),
 *   - with mingw-w64, run under Wine (what a user would otherwise pick),
 *   - against floor/windows.h, which does each call in-process with the POSIX calls it needs
 *     (no kernel, no emulation): the floor.
 * The only #ifdefs are the clock, CreateFileForMappingW, which exists on CE only (desktop
 * Win32 and Wine use CreateFileW there), and how CreateProcessW names its program.
 *
 *   ce_bench --dir DIR [--samples N] [--smoke] [--only ID,ID...]   latency rows, one line each:
 *       R <id> <median us> <p10 us> <p90 us> <samples> <bytes per op>
 *   ce_bench --throughput SECONDS [--client K]  prints "ready", waits for a line on stdin, then
 *       calls for SECONDS and prints "T <pairs> <elapsed us>"
 *   ce_bench --dir DIR --scale [--smoke]       rows on an empty kernel ("E" lines), then again
 *       with 60,000 live handles of which 10,000 are mappings ("L" lines); prints "ready" and
 *       waits for a line on stdin before loading and once loaded (the script reads the
 *       kernel's memory then)
 *   ce_bench --first-call                      "F <us>": process start to first completed call
 *   ce_bench --idle                            one call, "ready", then waits for stdin
 *
 * DIR is a Win32 path of a writable directory (\Temp under CEKernel, Z:\... under Wine).
 * Every call's result is checked: a failure prints the row, the call and GetLastError() and
 * exits 1, so the smoke run fails when the API does.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
static double now_us(void) {
    static double scale = 0.0;
    LARGE_INTEGER t;
    if (scale == 0.0) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        scale = 1e6 / (double)f.QuadPart;
    }
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * scale;
}
#else
#include <time.h>
static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
#endif

#if defined(UNDER_CE) || defined(CEK_FLOOR)
#define HAVE_CFFM 1
#else
#define HAVE_CFFM 0
#endif

#define KIB 1024u
#define MIB (1024u * 1024u)
#define BIG_FILE (64u * MIB)

static const char* g_row = "setup";
static WCHAR g_dir[MAX_PATH];
static WCHAR g_file[MAX_PATH];  /* DIR\cekbench.bin, BIG_FILE bytes */
static WCHAR g_small[MAX_PATH]; /* DIR\cekbench-small.bin, 64 KiB */
static WCHAR g_flush[MAX_PATH]; /* DIR\cekbench-flush.bin, 64 KiB */
static WCHAR g_missing[MAX_PATH]; /* DIR\cekbench-missing: never exists */

static void fail(const char* call) {
    fprintf(stderr, "ce_bench: %s: %s failed, error %lu\n", g_row, call,
            (unsigned long)GetLastError());
    exit(1);
}
#define CHECK(cond, call) \
    do {                  \
        if (!(cond)) fail(call); \
    } while (0)

static void widen(WCHAR* out, const char* in) {
    size_t i = 0;
    for (; in[i] != 0 && i + 1 < MAX_PATH; ++i) out[i] = (WCHAR)(unsigned char)in[i];
    out[i] = 0;
}

static void join(WCHAR* out, const WCHAR* dir, const char* leaf) {
    size_t n = 0;
    while (dir[n] != 0) {
        out[n] = dir[n];
        ++n;
    }
    out[n++] = '\\';
    widen(out + n, leaf);
}

static void mapping_name(WCHAR* out, const char* prefix, unsigned long n) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s-%lu", prefix, n);
    widen(out, buf);
}

/* ---- the state the rows share ---- */
static HANDLE g_kept;         /* a named RAM mapping kept open: "open existing" rows */
static HANDLE g_ram;          /* an unnamed 64 KiB RAM mapping */
static LPVOID g_ram_view;     /* a view of g_ram kept mapped (the "mapped here" row) */
static HANDLE g_big;          /* g_file opened for read and write */
static HANDLE g_big_mapping;  /* a file mapping of g_file */
static HANDLE g_big_file;     /* the file handle g_big_mapping took over (CE) or uses (Wine) */
static HANDLE g_small_mapping; /* a file mapping of g_small */
static HANDLE g_small_file;
static HANDLE g_flush_mapping; /* a file mapping of g_flush, and its file */
static HANDLE g_flush_file;
static LPVOID g_flush_view;   /* a view of all of it, for the flush row */
static char* g_buffer;        /* 1 MiB */
static unsigned long g_counter;
static DWORD g_read_offset;

/* CE 5's CreateFileForMappingW ignores the share mode (exclusive unless it is a pure read)
 * unless FILE_SHARE_WRITE_OVERRIDE is set; the rows keep other handles of the same files open. */
static HANDLE open_for_mapping(const WCHAR* path, DWORD access, DWORD share) {
#if HAVE_CFFM
    return CreateFileForMappingW(path, access, share | FILE_SHARE_WRITE_OVERRIDE, NULL,
                                 OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
#else
    return CreateFileW(path, access, share, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
#endif
}

/* Closes a file mapping made over open_for_mapping(): CE's mapping took the file handle over. */
static void close_file_mapping(HANDLE mapping, HANDLE file) {
    CHECK(CloseHandle(mapping), "CloseHandle(mapping)");
#if HAVE_CFFM
    (void)file;
#else
    CHECK(CloseHandle(file), "CloseHandle(file)");
#endif
}

static void write_file(const WCHAR* path, DWORD size) {
    HANDLE f = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD done = 0, n = 0;
    CHECK(f != INVALID_HANDLE_VALUE, "CreateFileW(CREATE_ALWAYS)");
    memset(g_buffer, 'x', MIB);
    while (done < size) {
        DWORD chunk = size - done < MIB ? size - done : MIB;
        CHECK(WriteFile(f, g_buffer, chunk, &n, NULL) && n == chunk, "WriteFile");
        done += n;
    }
    CHECK(CloseHandle(f), "CloseHandle");
}

static void setup_files(void) {
    join(g_file, g_dir, "cekbench.bin");
    join(g_small, g_dir, "cekbench-small.bin");
    join(g_flush, g_dir, "cekbench-flush.bin");
    join(g_missing, g_dir, "cekbench-missing");
    write_file(g_file, BIG_FILE);
    write_file(g_small, 64 * KIB);
    write_file(g_flush, 64 * KIB);
    g_big = CreateFileW(g_file, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                        NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(g_big != INVALID_HANDLE_VALUE, "CreateFileW(OPEN_EXISTING)");
}

/* ---- the rows: each op is one measured unit ---- */

static void op_map_create(void) {
    WCHAR name[64];
    HANDLE h;
    mapping_name(name, "cekbench-new", g_counter++);
    h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, name);
    CHECK(h != NULL, "CreateFileMappingW(new name)");
    CHECK(GetLastError() != ERROR_ALREADY_EXISTS, "CreateFileMappingW(new name) found it");
    CHECK(CloseHandle(h), "CloseHandle");
}

static void op_map_open(void) {
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB,
                                  L"cekbench-kept");
    CHECK(h != NULL && GetLastError() == ERROR_ALREADY_EXISTS, "CreateFileMappingW(existing)");
    CHECK(CloseHandle(h), "CloseHandle");
}

static void op_file_open(void) {
    HANDLE h = CreateFileW(g_small, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(h != INVALID_HANDLE_VALUE, "CreateFileW(OPEN_EXISTING)");
    CHECK(CloseHandle(h), "CloseHandle");
}

/* A new handle's first ReadFile: the shim takes the handle's descriptor from the kernel then
 * (later reads reuse it: read4k). The row less file_open is the first read's cost. */
static void op_open_read4k(void) {
    DWORD n = 0;
    HANDLE h = CreateFileW(g_small, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(h != INVALID_HANDLE_VALUE, "CreateFileW(OPEN_EXISTING)");
    CHECK(ReadFile(h, g_buffer, 4096, &n, NULL) && n == 4096, "ReadFile(first)");
    CHECK(CloseHandle(h), "CloseHandle");
}

static void op_file_mapping(void) {
    HANDLE f = open_for_mapping(g_small, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE);
    HANDLE m;
    CHECK(f != INVALID_HANDLE_VALUE, "CreateFileForMappingW");
    m = CreateFileMappingW(f, NULL, PAGE_READONLY, 0, 0, NULL);
    CHECK(m != NULL, "CreateFileMappingW(file)");
    close_file_mapping(m, f);
}

static void view_once(HANDLE mapping, DWORD access) {
    LPVOID p = MapViewOfFile(mapping, access, 0, 0, 64 * KIB);
    CHECK(p != NULL, "MapViewOfFile");
    CHECK(UnmapViewOfFile(p), "UnmapViewOfFile");
}

static void op_view_ram(void) { view_once(g_ram, FILE_MAP_WRITE); }
static void op_view_file(void) { view_once(g_small_mapping, FILE_MAP_WRITE); }
static void op_view_file_big(void) { view_once(g_big_mapping, FILE_MAP_WRITE); }

static void op_file_size(void) {
    DWORD high = 0;
    CHECK(GetFileSize(g_big, &high) == BIG_FILE, "GetFileSize");
}

static void op_seek(void) {
    CHECK(SetFilePointer(g_big, 4096, NULL, FILE_BEGIN) == 4096, "SetFilePointer");
}

static void op_read4k(void) {
    DWORD n = 0;
    CHECK(SetFilePointer(g_big, 8192, NULL, FILE_BEGIN) == 8192, "SetFilePointer");
    CHECK(ReadFile(g_big, g_buffer, 4096, &n, NULL) && n == 4096, "ReadFile");
}

static void op_write4k(void) {
    DWORD n = 0;
    CHECK(SetFilePointer(g_big, 8192, NULL, FILE_BEGIN) == 8192, "SetFilePointer");
    CHECK(WriteFile(g_big, g_buffer, 4096, &n, NULL) && n == 4096, "WriteFile");
}

static void op_read1m(void) {
    DWORD n = 0;
    if (g_read_offset >= BIG_FILE) g_read_offset = 0;
    CHECK(SetFilePointer(g_big, (LONG)g_read_offset, NULL, FILE_BEGIN) == g_read_offset,
          "SetFilePointer");
    CHECK(ReadFile(g_big, g_buffer, MIB, &n, NULL) && n == MIB, "ReadFile");
    g_read_offset += MIB;
}

/* A new mapping each time, so that its pages are mapped in no process: the first touch of each
 * page faults, as in a program's first pass over a file. */
static volatile char g_sink;
static double g_timed_us; /* what a self-timed op measured */

/* Times MapViewOfFile + touching every page + UnmapViewOfFile only: opening the file and making
 * the mapping are other rows, and CE's CloseHandle of a CreateFileForMappingW handle writes the
 * file back (FILE_FLAG_WRITE_THROUGH), which is not first-touch cost. */
static void touch_big_file(int write) {
    HANDLE f = open_for_mapping(g_file, GENERIC_READ | GENERIC_WRITE,
                                FILE_SHARE_READ | FILE_SHARE_WRITE);
    HANDLE m;
    volatile char* p;
    DWORD off;
    char sum = 0;
    double start;
    CHECK(f != INVALID_HANDLE_VALUE, "CreateFileForMappingW(64 MiB)");
    m = CreateFileMappingW(f, NULL, PAGE_READWRITE, 0, 0, NULL);
    CHECK(m != NULL, "CreateFileMappingW(64 MiB)");
    start = now_us();
    p = (volatile char*)MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(p != NULL, "MapViewOfFile(64 MiB)");
    if (write) {
        for (off = 0; off < BIG_FILE; off += 4096) p[off] = 'x';
    } else {
        for (off = 0; off < BIG_FILE; off += 4096) sum += p[off];
        g_sink = sum;
    }
    CHECK(UnmapViewOfFile((LPCVOID)p), "UnmapViewOfFile");
    g_timed_us = now_us() - start;
    close_file_mapping(m, f);
}
static void op_touch64m(void) { touch_big_file(1); }
static void op_read64m(void) { touch_big_file(0); }

/* Uncontended, the way SQLite's CE build takes its mutexes around every call. */
static CRITICAL_SECTION g_section;
static void op_critsec(void) {
    EnterCriticalSection(&g_section);
    LeaveCriticalSection(&g_section);
}

/* What SQLite's CE build does per transaction: its file lock is a named mutex taken and let
 * go, and it asks whether a journal exists. */
static HANDLE g_mutex;
static void op_mutex(void) {
    CHECK(WaitForSingleObject(g_mutex, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(mutex)");
    CHECK(ReleaseMutex(g_mutex), "ReleaseMutex");
}
static void op_attr_missing(void) {
    CHECK(GetFileAttributesW(g_missing) == INVALID_FILE_ATTRIBUTES, "GetFileAttributesW(missing)");
    CHECK(GetLastError() == ERROR_FILE_NOT_FOUND, "GetFileAttributesW(missing): error");
}

static void op_flush(void) {
    ((volatile char*)g_flush_view)[100] += 1;
    CHECK(FlushViewOfFile(g_flush_view, 64 * KIB), "FlushViewOfFile");
}

/* A thread's whole life from its creator's side; and a wait on a thread that has exited. */
static DWORD WINAPI thread_noop(LPVOID arg) { return (DWORD)(uintptr_t)arg; }
static HANDLE g_exited;
static void op_thread(void) {
    HANDLE t = CreateThread(NULL, 0, thread_noop, NULL, 0, NULL);
    CHECK(t != NULL, "CreateThread");
    CHECK(WaitForSingleObject(t, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(thread)");
    CHECK(CloseHandle(t), "CloseHandle(thread)");
}
static void op_wait_exited(void) {
    CHECK(WaitForSingleObject(g_exited, 0) == WAIT_OBJECT_0, "WaitForSingleObject(exited)");
}

/* A process's whole life from its creator's side: the child, ce_noop.c, does nothing and exits
 * 0. CE looks the image up in the object store (\Windows\ce_noop.exe, put there by cek_bench.py)
 * and the floor in $CEK_ROOT the same way; desktop Win32 needs a start-up record and finds the
 * program beside ce_bench.exe when the name comes in the command line. */
static void op_process(void) {
    PROCESS_INFORMATION pi;
    DWORD code = 0xFFFFFFFF;
#if defined(UNDER_CE) || defined(CEK_FLOOR)
    CHECK(CreateProcessW(L"ce_noop", NULL, NULL, NULL, FALSE, 0, NULL, NULL, NULL, &pi),
          "CreateProcessW(ce_noop)");
#else
    WCHAR line[] = L"ce_noop.exe"; /* desktop CreateProcessW may write to the command line */
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    CHECK(CreateProcessW(NULL, line, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi),
          "CreateProcessW(ce_noop)");
#endif
    CHECK(WaitForSingleObject(pi.hProcess, INFINITE) == WAIT_OBJECT_0,
          "WaitForSingleObject(process)");
    CHECK(GetExitCodeProcess(pi.hProcess, &code), "GetExitCodeProcess");
    CHECK(code == 0, "GetExitCodeProcess (the code is not 0)");
    CHECK(CloseHandle(pi.hThread), "CloseHandle(primary thread)");
    CHECK(CloseHandle(pi.hProcess), "CloseHandle(process)");
}

typedef struct {
    const char* id;
    void (*op)(void);
    unsigned batch;   /* ops timed together (cheap calls), so the clock's cost vanishes */
    unsigned divisor; /* samples = N / divisor */
    double bytes;     /* bytes moved per op, for MB/s */
    int self_timed;   /* the op times its own measured part (g_timed_us) */
} Row;

static const Row kRows[] = {
    {"map_create", op_map_create, 4, 1, 0, 0},
    {"map_open", op_map_open, 4, 1, 0, 0},
    {"file_open", op_file_open, 4, 1, 0, 0},
    {"open_read4k", op_open_read4k, 4, 1, 0, 0},
    {"file_mapping", op_file_mapping, 2, 1, 0, 0},
    {"view_ram", op_view_ram, 4, 1, 0, 0},
    {"view_ram_kept", op_view_ram, 4, 1, 0, 0},
    {"view_file", op_view_file, 4, 1, 0, 0},
    {"view_file_big", op_view_file_big, 4, 1, 0, 0},
    {"file_size", op_file_size, 16, 1, 0, 0},
    {"seek", op_seek, 16, 1, 0, 0},
    {"read4k", op_read4k, 8, 1, 0, 0},
    {"write4k", op_write4k, 8, 1, 0, 0},
    {"read1m", op_read1m, 1, 10, (double)MIB, 0},
    {"touch64m", op_touch64m, 1, 200, (double)BIG_FILE, 1},
    {"read64m", op_read64m, 1, 200, (double)BIG_FILE, 1},
    {"flush", op_flush, 1, 10, 0, 0},
    {"critsec", op_critsec, 64, 1, 0, 0},
    {"mutex", op_mutex, 16, 1, 0, 0},
    {"attr_missing", op_attr_missing, 8, 1, 0, 0},
    {"thread", op_thread, 1, 4, 0, 0},
    {"wait_exited", op_wait_exited, 16, 1, 0, 0},
    {"process", op_process, 1, 20, 0, 0},
};
#define ROW_COUNT (sizeof kRows / sizeof kRows[0])

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static void before_row(const char* id) {
    if (strcmp(id, "wait_exited") == 0) {
        g_exited = CreateThread(NULL, 0, thread_noop, NULL, 0, NULL);
        CHECK(g_exited != NULL, "CreateThread(exited)");
        CHECK(WaitForSingleObject(g_exited, INFINITE) == WAIT_OBJECT_0, "WaitForSingleObject(once)");
    }
    if (strcmp(id, "view_ram_kept") == 0) {
        g_ram_view = MapViewOfFile(g_ram, FILE_MAP_WRITE, 0, 0, 0);
        CHECK(g_ram_view != NULL, "MapViewOfFile(kept)");
    }
}

static void after_row(const char* id) {
    if (strcmp(id, "wait_exited") == 0) CHECK(CloseHandle(g_exited), "CloseHandle(exited)");
    if (strcmp(id, "view_ram_kept") == 0) CHECK(UnmapViewOfFile(g_ram_view), "UnmapViewOfFile");
}

static void run_row(const Row* row, unsigned samples, char tag) {
    unsigned n = samples / row->divisor, i, j;
    double* t;
    if (n < 3) n = 3;
    t = (double*)malloc(n * sizeof *t);
    g_row = row->id;
    before_row(row->id);
    for (i = 0; i < n / 10 + 1; ++i) row->op(); /* warm-up */
    for (i = 0; i < n; ++i) {
        double a = now_us();
        for (j = 0; j < row->batch; ++j) row->op();
        t[i] = row->self_timed ? g_timed_us : (now_us() - a) / row->batch;
    }
    after_row(row->id);
    qsort(t, n, sizeof *t, cmp_double);
    printf("%c %s %.4f %.4f %.4f %u %.0f\n", tag, row->id, t[n / 2], t[n / 10], t[n * 9 / 10], n,
           row->bytes);
    fflush(stdout);
    free(t);
}

static int selected(const char* only, const char* id) {
    size_t len = strlen(id);
    const char* p = only;
    if (only == NULL) return 1;
    while ((p = strstr(p, id)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) return 1;
        p += len;
    }
    return 0;
}

static void setup_objects(void) {
    InitializeCriticalSection(&g_section);
    g_mutex = CreateMutexW(NULL, FALSE, L"cekbench-mutex");
    CHECK(g_mutex != NULL, "CreateMutexW");
    g_buffer = (char*)malloc(MIB);
    g_kept = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB,
                                L"cekbench-kept");
    CHECK(g_kept != NULL, "CreateFileMappingW(kept)");
    g_ram = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, NULL);
    CHECK(g_ram != NULL, "CreateFileMappingW(unnamed)");
    setup_files();
    g_big_file = open_for_mapping(g_file, GENERIC_READ | GENERIC_WRITE,
                                  FILE_SHARE_READ | FILE_SHARE_WRITE);
    CHECK(g_big_file != INVALID_HANDLE_VALUE, "CreateFileForMappingW(64 MiB)");
    g_big_mapping = CreateFileMappingW(g_big_file, NULL, PAGE_READWRITE, 0, 0, NULL);
    CHECK(g_big_mapping != NULL, "CreateFileMappingW(64 MiB file)");
    g_small_file = open_for_mapping(g_small, GENERIC_READ | GENERIC_WRITE,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE);
    CHECK(g_small_file != INVALID_HANDLE_VALUE, "CreateFileForMappingW(64 KiB)");
    g_small_mapping = CreateFileMappingW(g_small_file, NULL, PAGE_READWRITE, 0, 0, NULL);
    CHECK(g_small_mapping != NULL, "CreateFileMappingW(64 KiB file)");
    g_flush_file = open_for_mapping(g_flush, GENERIC_READ | GENERIC_WRITE, 0);
    CHECK(g_flush_file != INVALID_HANDLE_VALUE, "CreateFileForMappingW(flush)");
    g_flush_mapping = CreateFileMappingW(g_flush_file, NULL, PAGE_READWRITE, 0, 0, NULL);
    CHECK(g_flush_mapping != NULL, "CreateFileMappingW(flush)");
    g_flush_view = MapViewOfFile(g_flush_mapping, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(g_flush_view != NULL, "MapViewOfFile(flush)");
}

static void teardown_objects(void) {
    g_row = "teardown";
    CHECK(UnmapViewOfFile(g_flush_view), "UnmapViewOfFile");
    close_file_mapping(g_big_mapping, g_big_file);
    close_file_mapping(g_small_mapping, g_small_file);
    close_file_mapping(g_flush_mapping, g_flush_file);
    CHECK(CloseHandle(g_big), "CloseHandle");
    CHECK(CloseHandle(g_ram), "CloseHandle");
    CHECK(CloseHandle(g_kept), "CloseHandle");
    CHECK(DeleteFileW(g_file), "DeleteFileW");
    CHECK(DeleteFileW(g_small), "DeleteFileW");
    CHECK(DeleteFileW(g_flush), "DeleteFileW");
}

static void wait_for_go(void) {
    char line[64];
    printf("ready\n");
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) exit(1);
}

/* Pairs of CreateFileMappingW(existing name)+CloseHandle for `seconds`; each client process
 * uses a name of its own (`client`), so the floor's in-process names stay correct. */
static int throughput(double seconds, unsigned long client) {
    double start, end;
    unsigned long pairs = 0;
    WCHAR name[64];
    g_row = "throughput";
    mapping_name(name, "cekbench-tp", client);
    g_kept = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, name);
    CHECK(g_kept != NULL, "CreateFileMappingW");
    wait_for_go();
    start = now_us();
    end = start + seconds * 1e6;
    do {
        int i;
        for (i = 0; i < 64; ++i) {
            HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB,
                                          name);
            CHECK(h != NULL, "CreateFileMappingW");
            CHECK(CloseHandle(h), "CloseHandle");
        }
        pairs += 64;
    } while (now_us() < end);
    printf("T %lu %.0f\n", pairs, now_us() - start);
    CHECK(CloseHandle(g_kept), "CloseHandle");
    return 0;
}

/* The latency rows on an empty kernel, then with 60,000 live handles (10,000 mappings, 1,000
 * searches, the rest events): as many as one process may hold, under its quota of 65,536
 * (docs/semantics/handles.md section 6). Searches are 1,000 because each is charged its
 * largest size, about 9 KiB, against the process's 16 MiB kernel-memory budget (issue 16). */
static int scale(unsigned samples, int smoke) {
    static const char* const rows = "map_create,map_open,file_open,view_ram,view_file,file_size";
    const unsigned mappings = smoke ? 100 : 10000, handles = smoke ? 1000 : 60000;
    const unsigned searches = mappings + (smoke ? 200 : 1000);
    HANDLE* held = (HANDLE*)malloc(handles * sizeof *held);
    WIN32_FIND_DATAW found;
    unsigned i;
    size_t r;
    setup_objects();
    for (r = 0; r < ROW_COUNT; ++r)
        if (selected(rows, kRows[r].id)) run_row(&kRows[r], samples, 'E');
    wait_for_go();
    g_row = "scale";
    for (i = 0; i < mappings; ++i) {
        held[i] = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, NULL);
        CHECK(held[i] != NULL, "CreateFileMappingW");
    }
    for (; i < searches; ++i) {
        held[i] = FindFirstFileW(g_small, &found);
        CHECK(held[i] != INVALID_HANDLE_VALUE, "FindFirstFileW");
    }
#ifndef CEK_FLOOR /* the floor has no events; it never runs this */
    for (; i < handles; ++i) {
        held[i] = CreateEventW(NULL, FALSE, FALSE, NULL);
        CHECK(held[i] != NULL, "CreateEventW");
    }
#endif
    printf("H %u %u\n", handles, mappings);
    wait_for_go();
    for (r = 0; r < ROW_COUNT; ++r)
        if (selected(rows, kRows[r].id)) run_row(&kRows[r], samples, 'L');
    g_row = "scale";
    for (i = 0; i < handles; ++i)
        CHECK(i >= mappings && i < searches ? FindClose(held[i]) : CloseHandle(held[i]),
              "CloseHandle");
    free(held);
    teardown_objects();
    return 0;
}

static int first_call(void) {
    double start = now_us();
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, NULL);
    double end = now_us();
    g_row = "first call";
    CHECK(h != NULL, "CreateFileMappingW");
    CHECK(CloseHandle(h), "CloseHandle");
    printf("F %.1f\n", end - start);
    return 0;
}

static int idle(void) {
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 64 * KIB, NULL);
    g_row = "idle";
    CHECK(h != NULL, "CreateFileMappingW");
    wait_for_go();
    CHECK(CloseHandle(h), "CloseHandle");
    return 0;
}

int main(int argc, char** argv) {
    unsigned samples = 5000;
    const char* only = NULL;
    const char* dir = NULL;
    double tp_seconds = 0;
    unsigned long client = 0;
    int smoke = 0, want_scale = 0, i;
    size_t r;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
            samples = 200;
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            samples = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--throughput") == 0 && i + 1 < argc) {
            tp_seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--client") == 0 && i + 1 < argc) {
            client = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--scale") == 0) {
            want_scale = 1;
        } else if (strcmp(argv[i], "--first-call") == 0) {
            return first_call();
        } else if (strcmp(argv[i], "--idle") == 0) {
            return idle();
        } else {
            fprintf(stderr, "ce_bench: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (tp_seconds > 0) return throughput(tp_seconds, client);
    if (dir == NULL) {
        fprintf(stderr, "usage: ce_bench --dir DIR [--samples N] [--smoke] [--only IDS] "
                        "[--scale | --throughput SECONDS] | --first-call | --idle\n");
        return 2;
    }
    widen(g_dir, dir);
    if (want_scale) return scale(samples, smoke);
    setup_objects();
    for (r = 0; r < ROW_COUNT; ++r)
        if (selected(only, kRows[r].id)) run_row(&kRows[r], samples, 'R');
    teardown_objects();
    return 0;
}
