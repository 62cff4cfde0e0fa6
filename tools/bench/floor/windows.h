/* The floor: the Win32 calls ce_bench.c measures, done in the calling process with the POSIX
 * calls each one needs at least (no kernel, no round trip, no emulation). Built with
 * -fshort-wchar. It is the cost a call cannot go below on this host; it is NOT a correct CE
 * implementation (no sharing checks, no CE handle table, no views at fixed addresses, a name
 * lives in /dev/shm while this process holds a handle on it).
 *
 * Named RAM mappings are POSIX shared memory (shm_open), the cross-process object a name must
 * reach; unnamed ones are memfds; files are open(2) descriptors; a file mapping takes the file's
 * descriptor over as CE's does. Views of 2 MiB or more are placed 2 MiB-aligned, the fastest
 * placement for first touch on this host. A process is posix_spawn + waitpid of a host program
 * found under $CEK_ROOT.
 */
#ifndef CEK_FLOOR_WINDOWS_H
#define CEK_FLOOR_WINDOWS_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <spawn.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#define CEK_FLOOR 1
#define WINAPI
#define TRUE 1
#define FALSE 0
#define MAX_PATH 260

typedef int BOOL;
typedef uint32_t DWORD;
typedef int32_t LONG;
typedef LONG* PLONG;
typedef DWORD* LPDWORD;
typedef void* HANDLE;
typedef void* LPVOID;
typedef const void* LPCVOID;
typedef size_t SIZE_T;
typedef wchar_t WCHAR;
typedef const WCHAR* LPCWSTR;
typedef void* LPSECURITY_ATTRIBUTES;
typedef void* LPOVERLAPPED;
typedef struct {
    DWORD dwLowDateTime, dwHighDateTime;
} FILETIME;
typedef struct {
    DWORD dwFileAttributes;
    FILETIME ftCreationTime, ftLastAccessTime, ftLastWriteTime;
    DWORD nFileSizeHigh, nFileSizeLow, dwOID;
    WCHAR cFileName[MAX_PATH];
} WIN32_FIND_DATAW;

#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#define PAGE_READONLY 0x02
#define PAGE_READWRITE 0x04
#define FILE_MAP_WRITE 0x0002
#define FILE_MAP_READ 0x0004
#define GENERIC_READ 0x80000000u
#define GENERIC_WRITE 0x40000000u
#define FILE_SHARE_READ 1
#define FILE_SHARE_WRITE 2
#define FILE_SHARE_WRITE_OVERRIDE 0x40000000
#define CREATE_ALWAYS 2
#define OPEN_EXISTING 3
#define FILE_ATTRIBUTE_NORMAL 0x80
#define FILE_BEGIN 0
#define FILE_CURRENT 1
#define FILE_END 2
#define INVALID_FILE_SIZE 0xFFFFFFFFu
#define ERROR_ALREADY_EXISTS 183
#define ERROR_INVALID_HANDLE 6

/* ---- implementation (one translation unit includes this) ---- */

enum floor_kind {
    FLOOR_FILE,
    FLOOR_RAM,
    FLOOR_FILE_MAPPING,
    FLOOR_THREAD,
    FLOOR_PROCESS,
    FLOOR_PROCESS_THREAD, /* a process's primary thread: nothing of its own */
    FLOOR_MUTEX
};
struct floor_handle {
    enum floor_kind kind;
    int fd;
    uint64_t size; /* mappings */
    char name[MAX_PATH + 16];
    pthread_t thread; /* threads: joined by the first wait */
    int joined;
    pid_t pid;        /* processes: reaped by the first wait */
    int status;
    pthread_mutex_t* mutex; /* mutexes: in shared memory */
    int write_back;   /* a writable CreateFileForMappingW file: written back when it closes */
};

static DWORD floor_last_error;
static DWORD GetLastError(void) { return floor_last_error; }
static void floor_errno(void) { floor_last_error = (DWORD)errno; }

static void floor_narrow(char* out, const WCHAR* in, const char* prefix) {
    size_t n = strlen(prefix), i;
    memcpy(out, prefix, n);
    for (i = 0; in[i] != 0 && n + 1 < MAX_PATH + 16; ++i)
        out[n++] = in[i] == '\\' ? '/' : (char)in[i];
    out[n] = 0;
}

/* In-process reference counts of the names this process holds, so that the last close
 * removes the name as CE's does. */
struct floor_name {
    char name[MAX_PATH + 16];
    unsigned refs;
    struct floor_name* next;
};
static struct floor_name* floor_names;

static void floor_name_ref(const char* name) {
    struct floor_name* n;
    for (n = floor_names; n != NULL; n = n->next)
        if (strcmp(n->name, name) == 0) {
            ++n->refs;
            return;
        }
    n = (struct floor_name*)calloc(1, sizeof *n);
    strcpy(n->name, name);
    n->refs = 1;
    n->next = floor_names;
    floor_names = n;
}

static void floor_name_unref(const char* name) {
    struct floor_name** p;
    for (p = &floor_names; *p != NULL; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0) {
            if (--(*p)->refs == 0) {
                struct floor_name* dead = *p;
                shm_unlink(name);
                *p = dead->next;
                free(dead);
            }
            return;
        }
}

static HANDLE floor_new(enum floor_kind kind, int fd, uint64_t size) {
    struct floor_handle* h = (struct floor_handle*)calloc(1, sizeof *h);
    h->kind = kind;
    h->fd = fd;
    h->size = size;
    return h;
}

static HANDLE CreateFileW(LPCWSTR path, DWORD access, DWORD share, LPSECURITY_ATTRIBUTES sa,
                          DWORD disposition, DWORD attributes, HANDLE tmpl) {
    char host[MAX_PATH + 16];
    int flags = O_CLOEXEC, fd;
    (void)share, (void)sa, (void)attributes, (void)tmpl;
    floor_narrow(host, path, "");
    flags |= (access & GENERIC_WRITE) ? ((access & GENERIC_READ) ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (disposition == CREATE_ALWAYS) flags |= O_CREAT | O_TRUNC;
    fd = open(host, flags, 0644);
    if (fd < 0) {
        floor_errno();
        return INVALID_HANDLE_VALUE;
    }
    return floor_new(FLOOR_FILE, fd, 0);
}

/* CE 5 opens it FILE_FLAG_WRITE_THROUGH, and the mapping that takes it over writes its dirty
 * pages back when it ends: the floor pays the same fdatasync at the close (no row writes
 * through the handle itself, so the descriptor is not O_DSYNC). */
static HANDLE CreateFileForMappingW(LPCWSTR path, DWORD access, DWORD share,
                                    LPSECURITY_ATTRIBUTES sa, DWORD disposition,
                                    DWORD attributes, HANDLE tmpl) {
    HANDLE h = CreateFileW(path, access, share, sa, disposition, attributes, tmpl);
    if (h != INVALID_HANDLE_VALUE && (access & GENERIC_WRITE) != 0)
        ((struct floor_handle*)h)->write_back = 1;
    return h;
}

static HANDLE CreateFileMappingW(HANDLE file, LPSECURITY_ATTRIBUTES sa, DWORD protect,
                                 DWORD size_high, DWORD size_low, LPCWSTR name) {
    uint64_t size = ((uint64_t)size_high << 32) | size_low;
    struct floor_handle* h;
    (void)sa;
    if (file != INVALID_HANDLE_VALUE) { /* take the file's descriptor over */
        struct floor_handle* f = (struct floor_handle*)file;
        struct stat st;
        if (fstat(f->fd, &st) != 0) return floor_errno(), (HANDLE)NULL;
        f->kind = FLOOR_FILE_MAPPING;
        f->size = size != 0 ? size : (uint64_t)st.st_size;
        if (protect != PAGE_READWRITE) f->write_back = 0; /* nothing can dirty its pages */
        floor_last_error = 0;
        return f;
    }
    if (name == NULL) {
        int fd = memfd_create("floor", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) return floor_errno(), (HANDLE)NULL;
        floor_last_error = 0;
        return floor_new(FLOOR_RAM, fd, size);
    }
    {
        char shm[MAX_PATH + 16];
        int fd;
        floor_narrow(shm, name, "/");
        fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            if (ftruncate(fd, (off_t)size) != 0) return floor_errno(), (HANDLE)NULL;
            floor_last_error = 0;
        } else if (errno == EEXIST) {
            fd = shm_open(shm, O_RDWR | O_CLOEXEC, 0600);
            if (fd < 0) return floor_errno(), (HANDLE)NULL;
            floor_last_error = ERROR_ALREADY_EXISTS;
        } else {
            return floor_errno(), (HANDLE)NULL;
        }
        h = (struct floor_handle*)floor_new(FLOOR_RAM, fd, size);
        strcpy(h->name, shm);
        floor_name_ref(shm);
        return h;
    }
}

static BOOL CloseHandle(HANDLE handle) {
    struct floor_handle* h = (struct floor_handle*)handle;
    if (h->kind == FLOOR_THREAD) {
        if (!h->joined) pthread_detach(h->thread);
        free(h);
        return TRUE;
    }
    if (h->kind == FLOOR_MUTEX) {
        munmap(h->mutex, sizeof *h->mutex);
        free(h);
        return TRUE;
    }
    if (h->kind == FLOOR_PROCESS || h->kind == FLOOR_PROCESS_THREAD) {
        free(h); /* an unreaped child stays a zombie: the bench always waits first */
        return TRUE;
    }
    if (h->kind == FLOOR_FILE_MAPPING && h->write_back) fdatasync(h->fd);
    close(h->fd);
    if (h->name[0] != 0) floor_name_unref(h->name);
    free(h);
    return TRUE;
}

/* Views: address -> length, for UnmapViewOfFile. */
struct floor_view {
    char* base;
    size_t length;
};
static struct floor_view floor_views[64];

static LPVOID MapViewOfFile(HANDLE mapping, DWORD access, DWORD off_high, DWORD off_low,
                            SIZE_T bytes) {
    struct floor_handle* h = (struct floor_handle*)mapping;
    uint64_t offset = ((uint64_t)off_high << 32) | off_low;
    int prot = PROT_READ | ((access & FILE_MAP_WRITE) ? PROT_WRITE : 0), i;
    size_t length = bytes != 0 ? bytes : (size_t)(h->size - offset);
    const size_t huge = 2u << 20;
    char* p;
    if (length >= huge) { /* 2 MiB-aligned, as the host maps large folios fastest */
        char* r = (char*)mmap(NULL, length + huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char* aligned = (char*)(((uintptr_t)r + huge - 1) & ~(uintptr_t)(huge - 1));
        if (aligned > r) munmap(r, (size_t)(aligned - r));
        munmap(aligned + length, (size_t)(r + length + huge - (aligned + length)));
        p = (char*)mmap(aligned, length, prot, MAP_SHARED | MAP_FIXED, h->fd, (off_t)offset);
    } else {
        p = (char*)mmap(NULL, length, prot, MAP_SHARED, h->fd, (off_t)offset);
    }
    if (p == MAP_FAILED) return floor_errno(), (LPVOID)NULL;
    for (i = 0; i < 64; ++i)
        if (floor_views[i].base == NULL) {
            floor_views[i].base = p;
            floor_views[i].length = length;
            break;
        }
    return p;
}

static BOOL UnmapViewOfFile(LPCVOID address) {
    int i;
    for (i = 0; i < 64; ++i)
        if (floor_views[i].base == (const char*)address) {
            munmap(floor_views[i].base, floor_views[i].length);
            floor_views[i].base = NULL;
            return TRUE;
        }
    floor_last_error = ERROR_INVALID_HANDLE;
    return FALSE;
}

static BOOL FlushViewOfFile(LPCVOID address, SIZE_T bytes) {
    uintptr_t start = (uintptr_t)address & ~(uintptr_t)4095;
    /* MS_SYNC: CE's FlushViewOfFile (and CEKernel's) returns once the pages are on disk. */
    if (msync((void*)start, (uintptr_t)address + bytes - start, MS_SYNC) != 0)
        return floor_errno(), FALSE;
    return TRUE;
}

static DWORD GetFileSize(HANDLE file, LPDWORD high) {
    struct stat st;
    if (fstat(((struct floor_handle*)file)->fd, &st) != 0) return floor_errno(), INVALID_FILE_SIZE;
    if (high != NULL) *high = (DWORD)((uint64_t)st.st_size >> 32);
    return (DWORD)st.st_size;
}

static DWORD SetFilePointer(HANDLE file, LONG distance, PLONG high, DWORD method) {
    int64_t d = high != NULL ? (int64_t)(((uint64_t)(uint32_t)*high << 32) | (uint32_t)distance)
                             : distance;
    off_t r = lseek(((struct floor_handle*)file)->fd, (off_t)d,
                    method == FILE_BEGIN ? SEEK_SET : method == FILE_CURRENT ? SEEK_CUR : SEEK_END);
    if (r < 0) return floor_errno(), 0xFFFFFFFFu;
    if (high != NULL) *high = (LONG)((uint64_t)r >> 32);
    return (DWORD)r;
}

static BOOL ReadFile(HANDLE file, LPVOID buffer, DWORD bytes, LPDWORD done, LPOVERLAPPED ov) {
    ssize_t n = read(((struct floor_handle*)file)->fd, buffer, bytes);
    (void)ov;
    if (n < 0) return floor_errno(), FALSE;
    *done = (DWORD)n;
    return TRUE;
}

static BOOL WriteFile(HANDLE file, LPCVOID buffer, DWORD bytes, LPDWORD done, LPOVERLAPPED ov) {
    ssize_t n = write(((struct floor_handle*)file)->fd, buffer, bytes);
    (void)ov;
    if (n < 0) return floor_errno(), FALSE;
    *done = (DWORD)n;
    return TRUE;
}

static BOOL DeleteFileW(LPCWSTR path) {
    char host[MAX_PATH + 16];
    floor_narrow(host, path, "");
    if (unlink(host) != 0) return floor_errno(), FALSE;
    return TRUE;
}

/* A search handle: the floor's is an open directory descriptor (the scale mode's filler). */
static HANDLE FindFirstFileW(LPCWSTR pattern, WIN32_FIND_DATAW* found) {
    char host[MAX_PATH + 16];
    int fd;
    (void)found;
    floor_narrow(host, pattern, "");
    fd = open(host, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return floor_errno(), INVALID_HANDLE_VALUE;
    return floor_new(FLOOR_FILE, fd, 0);
}
#define FindClose CloseHandle

/* A critical section: the host's recursive mutex (an uncontended lock and unlock take no system
 * call), the least a recursive in-process lock costs. */
typedef pthread_mutex_t CRITICAL_SECTION;
static void InitializeCriticalSection(CRITICAL_SECTION* cs) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(cs, &a);
    pthread_mutexattr_destroy(&a);
}
static void EnterCriticalSection(CRITICAL_SECTION* cs) { pthread_mutex_lock(cs); }
static void LeaveCriticalSection(CRITICAL_SECTION* cs) { pthread_mutex_unlock(cs); }

/* Threads: a pthread, joined by the first wait (pthread_create + pthread_join is the floor of
 * CreateThread + WaitForSingleObject); a later wait finds it joined. */
#define INFINITE 0xFFFFFFFF
#define WAIT_OBJECT_0 0
typedef DWORD (*LPTHREAD_START_ROUTINE)(LPVOID);
struct floor_start {
    LPTHREAD_START_ROUTINE start;
    LPVOID arg;
};
static void* floor_thread_main(void* p) {
    struct floor_start s = *(struct floor_start*)p;
    free(p);
    return (void*)(uintptr_t)s.start(s.arg);
}
static HANDLE CreateThread(LPSECURITY_ATTRIBUTES sa, SIZE_T stack, LPTHREAD_START_ROUTINE start,
                           LPVOID arg, DWORD flags, LPDWORD id) {
    struct floor_handle* h = (struct floor_handle*)floor_new(FLOOR_THREAD, -1, 0);
    struct floor_start* s = (struct floor_start*)malloc(sizeof *s);
    (void)sa, (void)stack, (void)flags, (void)id;
    s->start = start;
    s->arg = arg;
    if (pthread_create(&h->thread, NULL, floor_thread_main, s) != 0) {
        free(s);
        free(h);
        return NULL;
    }
    return h;
}

/* Processes: posix_spawn of a host program, found as the kernel finds an image in its object
 * store (\Windows\<name>, then \<name>, ".exe" added when missing), but in the host
 * directory $CEK_ROOT and without looking first: the spawn's own exec is the lookup. The first
 * wait reaps it (waitpid), and its exit status is the exit code. */
extern char** environ;
#define STILL_ACTIVE 0x103
typedef struct {
    HANDLE hProcess, hThread;
    DWORD dwProcessId, dwThreadId;
} PROCESS_INFORMATION, *LPPROCESS_INFORMATION;
typedef void* LPSTARTUPINFOW;

static int floor_spawn(pid_t* pid, const char* root, const char* folder, const char* name) {
    char path[MAX_PATH + 64];
    char* argv[2];
    size_t n = strlen(name);
    int ext = n >= 4 && strcasecmp(name + n - 4, ".exe") == 0;
    snprintf(path, sizeof path, "%s%s/%s%s", root, folder, name, ext ? "" : ".exe");
    argv[0] = path;
    argv[1] = NULL;
    return posix_spawn(pid, path, NULL, NULL, argv, environ);
}

static BOOL CreateProcessW(LPCWSTR image, LPCWSTR line, LPSECURITY_ATTRIBUTES sa_process,
                           LPSECURITY_ATTRIBUTES sa_thread, BOOL inherit, DWORD flags,
                           LPVOID env, LPCWSTR dir, LPSTARTUPINFOW start,
                           LPPROCESS_INFORMATION pi) {
    const char* root = getenv("CEK_ROOT");
    char name[MAX_PATH + 16];
    struct floor_handle* h;
    pid_t pid;
    int e;
    (void)line, (void)sa_process, (void)sa_thread, (void)inherit, (void)flags, (void)env;
    (void)dir, (void)start;
    if (root == NULL) root = ".";
    floor_narrow(name, image, "");
    if (name[0] == '/') {
        e = floor_spawn(&pid, root, "", name + 1);
    } else {
        e = floor_spawn(&pid, root, "/Windows", name);
        if (e == ENOENT) e = floor_spawn(&pid, root, "", name);
    }
    if (e != 0) {
        floor_last_error = (DWORD)e;
        return FALSE;
    }
    h = (struct floor_handle*)floor_new(FLOOR_PROCESS, -1, 0);
    h->pid = pid;
    pi->hProcess = h;
    pi->hThread = floor_new(FLOOR_PROCESS_THREAD, -1, 0);
    pi->dwProcessId = pi->dwThreadId = (DWORD)pid;
    return TRUE;
}

/* A mutex another process could share: a robust, process-shared pthread mutex in shared memory
 * (CE releases a mutex whose owner died). Whether the memory is named does not change what a
 * lock and an unlock cost, so the floor's is anonymous. */
static HANDLE CreateMutexW(LPSECURITY_ATTRIBUTES sa, BOOL initial, LPCWSTR name) {
    pthread_mutexattr_t attr;
    struct floor_handle* h = (struct floor_handle*)floor_new(FLOOR_MUTEX, -1, 0);
    (void)sa, (void)name;
    h->mutex = (pthread_mutex_t*)mmap(NULL, sizeof *h->mutex, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (h->mutex == MAP_FAILED) return floor_errno(), free(h), (HANDLE)NULL;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(h->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (initial) pthread_mutex_lock(h->mutex);
    return h;
}

static BOOL ReleaseMutex(HANDLE handle) {
    struct floor_handle* h = (struct floor_handle*)handle;
    return pthread_mutex_unlock(h->mutex) == 0;
}

/* GetFileAttributesW: a stat (a file's stored attributes would add a getxattr). */
#define INVALID_FILE_ATTRIBUTES 0xFFFFFFFFu
#define FILE_ATTRIBUTE_DIRECTORY 0x10
#define ERROR_FILE_NOT_FOUND 2
static DWORD GetFileAttributesW(LPCWSTR path) {
    char host[MAX_PATH + 16];
    struct stat st;
    floor_narrow(host, path, "");
    if (stat(host, &st) != 0) {
        floor_last_error = errno == ENOENT ? ERROR_FILE_NOT_FOUND : (DWORD)errno;
        return INVALID_FILE_ATTRIBUTES;
    }
    return S_ISDIR(st.st_mode) ? FILE_ATTRIBUTE_DIRECTORY : FILE_ATTRIBUTE_NORMAL;
}

static DWORD WaitForSingleObject(HANDLE handle, DWORD ms) {
    struct floor_handle* h = (struct floor_handle*)handle;
    (void)ms;
    if (h->kind == FLOOR_MUTEX) {
        int rc = pthread_mutex_lock(h->mutex);
        if (rc == EOWNERDEAD) pthread_mutex_consistent(h->mutex);
        return WAIT_OBJECT_0;
    }
    if (h->kind == FLOOR_PROCESS) {
        while (!h->joined && waitpid(h->pid, &h->status, 0) < 0)
            if (errno != EINTR) return floor_errno(), 0xFFFFFFFFu;
        h->joined = 1;
        return WAIT_OBJECT_0;
    }
    if (!h->joined) pthread_join(h->thread, NULL);
    h->joined = 1;
    return WAIT_OBJECT_0;
}

static BOOL GetExitCodeProcess(HANDLE handle, LPDWORD code) {
    struct floor_handle* h = (struct floor_handle*)handle;
    if (!h->joined) {
        *code = STILL_ACTIVE;
        return TRUE;
    }
    *code = WIFEXITED(h->status) ? (DWORD)WEXITSTATUS(h->status) : 128u + WTERMSIG(h->status);
    return TRUE;
}

#endif /* CEK_FLOOR_WINDOWS_H */
