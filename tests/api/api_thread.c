/* api_thread: threads and TLS end to end from a plain C program built with -fshort-wchar, as CE
 * sources are, against a private kernel: CreateThread's checks, ids that are handle values,
 * exit codes, waits on threads mixed with events and mutexes, suspension of a thread spinning
 * in user code and of one blocked in a kernel wait, Sleep(INFINITE), TerminateThread,
 * priorities and quanta, TLS, and 64 threads creating and waiting on each other. Observations
 * of a stopped thread are bounded; nothing waits without a time-out. Exits 0 and prints "ok"
 * when every check passed; prints each failed check. */
#include <windows.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "api_thread: line %d: %s (last error %u)\n", __LINE__, #cond, \
                    (unsigned)GetLastError());                                          \
            ++failures;                                                                 \
        }                                                                               \
    } while (0)

#define SENTINEL 0xDEADBEEF
#define LONG_WAIT 30000 /* ms: a bound that a passing run never reaches */
#define OBSERVATIONS 50

/* Shared between threads: read and written only with Interlocked calls (get, put), as a CE program
 * must for memory another thread changes. */
static LONG counter = 0;
static LONG stop = 0;
static LONG flag = 0;
static LONG seen_id = 0;

/* Written by a thread and read only after a wait on its handle has seen it end: plain memory, as
 * CE programs use it (the wait orders it; in TSan builds the shim tells TSan so). */
static DWORD plain_id = 0;

static LONG get(LONG* v) { return InterlockedCompareExchange(v, 0, 0); }
static void put(LONG* v, LONG value) { InterlockedExchange(v, value); }
static HANDLE event = NULL;
static HANDLE mutex = NULL;

static DWORD WINAPI returns_arg(LPVOID arg) {
    put(&seen_id, (LONG)GetCurrentThreadId());
    plain_id = GetCurrentThreadId();
    return (DWORD)(UINT_PTR)arg;
}

static DWORD WINAPI exits_early(LPVOID arg) {
    (void)arg;
    ExitThread(7);
    return 99; /* never reached */
}

static DWORD WINAPI spins(LPVOID arg) {
    (void)arg;
    while (!get(&stop)) InterlockedIncrement(&counter);
    return 0;
}

static DWORD WINAPI waits_on_event(LPVOID arg) {
    (void)arg;
    put(&flag, 1);
    DWORD r = WaitForSingleObject(event, LONG_WAIT);
    put(&flag, r == WAIT_OBJECT_0 ? 2 : 3);
    return r;
}

static DWORD WINAPI sleeps_forever(LPVOID arg) {
    (void)arg;
    Sleep(INFINITE);
    put(&flag, 5);
    return 5;
}

/* Takes the mutex, then waits on the event and exits without releasing it. */
static DWORD WINAPI owns_mutex_and_exits(LPVOID arg) {
    (void)arg;
    if (WaitForSingleObject(mutex, LONG_WAIT) != WAIT_OBJECT_0) return 1;
    put(&flag, 1);
    return WaitForSingleObject(event, LONG_WAIT) == WAIT_OBJECT_0 ? 0 : 1;
}

static DWORD WINAPI waits_on_main(LPVOID arg) {
    /* A handle of the main thread, which is running, so this times out. */
    return WaitForSingleObject((HANDLE)arg, 0);
}

/* Polls `cond` a bounded number of times, a millisecond apart. */
#define POLL(cond)                                          \
    do {                                                    \
        for (int i_ = 0; i_ < LONG_WAIT && !(cond); ++i_) Sleep(1); \
    } while (0)

static DWORD tls_slot;
static DWORD WINAPI tls_reader(LPVOID arg) {
    (void)arg;
    LPVOID fresh = TlsGetValue(tls_slot); /* a new thread starts with every slot zero */
    TlsSetValue(tls_slot, (LPVOID)0x1234);
    put(&flag, 1);
    WaitForSingleObject(event, LONG_WAIT);
    /* TlsFree in the main thread zeroed this thread's slot too. */
    return fresh == NULL && TlsGetValue(tls_slot) == NULL ? 0 : 1;
}

static LONG chain_done = 0;
static DWORD WINAPI chain(LPVOID arg) {
    UINT_PTR left = (UINT_PTR)arg;
    if (left == 0) {
        InterlockedIncrement(&chain_done);
        return 0;
    }
    HANDLE next = CreateThread(NULL, 0, chain, (LPVOID)(left - 1), 0, NULL);
    if (next == NULL) return 1;
    DWORD r = WaitForSingleObject(next, LONG_WAIT);
    DWORD code = 1;
    GetExitCodeThread(next, &code);
    CloseHandle(next);
    InterlockedIncrement(&chain_done);
    return r == WAIT_OBJECT_0 ? code : 1;
}

int main(void) {
    DWORD id = 0, code = 0;
    /* GetProcessId is CE 6's: under CE 5 it fails (ERROR_CALL_NOT_IMPLEMENTED). Where the
     * personalities differ (docs/semantics/threads.md §8), each has its own check. */
    const int ce6 = GetProcessId(GetCurrentProcess()) != 0;

    /* CreateThread: flags, then the reservation size. */
    SetLastError(SENTINEL);
    CHECK(CreateThread(NULL, 0, returns_arg, NULL, 0x1, NULL) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    HANDLE t = CreateThread(NULL, 0, returns_arg, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (ce6) { /* a reservation of 0 is the default stack */
        CHECK(t != NULL && WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0 && CloseHandle(t));
    } else {
        CHECK(t == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    }

    /* The id is the handle value (CE 6: an even value of its own); the return value is the exit
     * code; the handle is signalled. */
    t = CreateThread(NULL, 0, returns_arg, (LPVOID)42, 0, &id);
    CHECK(t != NULL && ((DWORD)(UINT_PTR)t == id) == !ce6);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK((DWORD)get(&seen_id) == id);
    CHECK(plain_id == id);
    CHECK(GetExitCodeThread(t, &code) && code == 42);
    CHECK(WaitForSingleObject(t, 0) == WAIT_OBJECT_0); /* stays signalled */
    SetLastError(SENTINEL);
    CHECK(!GetExitCodeThread(t, NULL) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(CloseHandle(t));
    CHECK(!GetExitCodeThread((HANDLE)0x1234, &code) && GetLastError() == ERROR_INVALID_HANDLE);

    /* A reservation, rounded by the shim, and ExitThread. */
    t = CreateThread(NULL, 100000, exits_early, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    CHECK(t != NULL);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code) && code == 7);
    CloseHandle(t);

    /* GetCurrentThreadId is a handle another thread can wait on (CE 6: OpenThread makes one). */
    DWORD main_id = GetCurrentThreadId();
    CHECK(main_id != 0 && main_id == GetCurrentThreadId());
    HANDLE main_handle = ce6 ? OpenThread(0, FALSE, main_id) : (HANDLE)(UINT_PTR)main_id;
    CHECK(main_handle != NULL);
    t = CreateThread(NULL, 0, waits_on_main, main_handle, 0, NULL);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code) && code == WAIT_TIMEOUT);
    CloseHandle(t);

    /* CREATE_SUSPENDED: nothing runs until ResumeThread; STILL_ACTIVE meanwhile. */
    put(&counter, 0);
    put(&stop, 0);
    t = CreateThread(NULL, 0, spins, NULL, CREATE_SUSPENDED, NULL);
    CHECK(t != NULL);
    CHECK(GetExitCodeThread(t, &code) && code == STILL_ACTIVE);
    for (int i = 0; i < OBSERVATIONS; ++i) {
        Sleep(1);
        CHECK(get(&counter) == 0);
    }
    CHECK(ResumeThread(t) == 1);
    POLL(get(&counter) > 0);
    CHECK(get(&counter) > 0);

    /* Suspending a thread spinning in user code stops it: the counter does not move. */
    CHECK(SuspendThread(t) == 0);
    LONG frozen = get(&counter);
    for (int i = 0; i < OBSERVATIONS; ++i) {
        Sleep(1);
        CHECK(get(&counter) == frozen);
    }
    CHECK(SuspendThread(t) == 1);
    CHECK(ResumeThread(t) == 2);
    CHECK(get(&counter) == frozen);
    CHECK(ResumeThread(t) == 1);
    POLL(get(&counter) != frozen);
    CHECK(get(&counter) != frozen);
    CHECK(ResumeThread(t) == 0); /* not suspended: 0, no error */

    /* The count's limit is 127: the next suspend is refused with ERROR_SIGNAL_REFUSED. */
    for (DWORD i = 0; i < MAX_SUSPEND_COUNT; ++i) CHECK(SuspendThread(t) == i);
    SetLastError(SENTINEL);
    CHECK(SuspendThread(t) == 0xFFFFFFFF && GetLastError() == ERROR_SIGNAL_REFUSED);
    for (DWORD i = MAX_SUSPEND_COUNT; i > 0; --i) CHECK(ResumeThread(t) == i);

    /* TerminateThread: the thread stops, its handle is signalled with the code. */
    CHECK(TerminateThread(t, 0x55));
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code) && code == 0x55);
    frozen = get(&counter);
    for (int i = 0; i < OBSERVATIONS; ++i) {
        Sleep(1);
        CHECK(get(&counter) == frozen);
    }
    SetLastError(SENTINEL);
    CHECK(SuspendThread(t) == 0xFFFFFFFF && GetLastError() == ERROR_INVALID_HANDLE);
    CloseHandle(t);
    CHECK(SuspendThread((HANDLE)0x1234) == 0xFFFFFFFF && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(ResumeThread((HANDLE)0x1234) == 0xFFFFFFFF && GetLastError() == ERROR_INVALID_HANDLE);

    /* A thread blocked in WaitForSingleObject, suspended: the signal does not let it run. */
    event = CreateEventW(NULL, FALSE, FALSE, NULL);
    put(&flag, 0);
    t = CreateThread(NULL, 0, waits_on_event, NULL, 0, NULL);
    POLL(get(&flag) == 1);
    CHECK(SuspendThread(t) == 0);
    CHECK(SetEvent(event));
    for (int i = 0; i < OBSERVATIONS; ++i) {
        Sleep(1);
        CHECK(get(&flag) == 1);
    }
    CHECK(ResumeThread(t) == 1);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(get(&flag) == 2);
    CloseHandle(t);

    /* Sleep(INFINITE) is a self-suspend that ResumeThread ends. */
    put(&flag, 0);
    t = CreateThread(NULL, 0, sleeps_forever, NULL, 0, NULL);
    DWORD previous = 0;
    for (int i = 0; i < LONG_WAIT && previous != 1; ++i) {
        previous = SuspendThread(t); /* 1 once the thread sleeps */
        ResumeThread(t);
        if (previous != 1) Sleep(1);
    }
    CHECK(previous == 1);
    CHECK(get(&flag) == 0);
    CHECK(ResumeThread(t) == 1);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(get(&flag) == 5 && GetExitCodeThread(t, &code) && code == 5);
    CloseHandle(t);

    /* Waits mix a thread, an event and a mutex; a mutex whose owner thread exits is abandoned. */
    mutex = CreateMutexW(NULL, FALSE, NULL);
    HANDLE event2 = CreateEventW(NULL, FALSE, FALSE, NULL);
    put(&flag, 0);
    HANDLE owner = CreateThread(NULL, 0, owns_mutex_and_exits, NULL, 0, NULL);
    POLL(get(&flag) == 1); /* the owner holds the mutex and waits on the event */
    t = CreateThread(NULL, 0, returns_arg, (LPVOID)7, 0, NULL);
    HANDLE three[3] = {event2, mutex, t};
    CHECK(WaitForMultipleObjects(3, three, FALSE, LONG_WAIT) == WAIT_OBJECT_0 + 2);
    CHECK(SetEvent(event)); /* the owner returns without releasing */
    CHECK(WaitForSingleObject(mutex, LONG_WAIT) == WAIT_ABANDONED);
    CHECK(WaitForSingleObject(owner, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(ReleaseMutex(mutex));
    CHECK(SetEvent(event2));
    CHECK(WaitForMultipleObjects(3, three, FALSE, LONG_WAIT) == WAIT_OBJECT_0);
    CloseHandle(t);
    CloseHandle(owner);

    /* Priorities: CE's 0-7 and the raw 0-255; quanta. */
    HANDLE self = GetCurrentThread();
    CHECK(GetThreadPriority(self) == THREAD_PRIORITY_NORMAL);
    CHECK(CeGetThreadPriority(self) == 251);
    CHECK(CeGetThreadQuantum(self) == 100);
    SetLastError(SENTINEL);
    CHECK(!SetThreadPriority(self, 8) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!CeSetThreadPriority(self, 256) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!CeSetThreadQuantum(self, 0x80000000) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(SetThreadPriority(self, THREAD_PRIORITY_IDLE) && CeGetThreadPriority(self) == 255);
    CHECK(CeSetThreadPriority(self, 100) && GetThreadPriority(self) == 0);
    CHECK(CeGetThreadPriority(main_handle) == 100);
    CHECK(SetThreadPriority(self, THREAD_PRIORITY_NORMAL));
    CHECK(CeSetThreadQuantum(self, 0) && CeGetThreadQuantum(self) == 0);
    SetLastError(SENTINEL);
    CHECK(GetThreadPriority((HANDLE)0x1234) == THREAD_PRIORITY_ERROR_RETURN &&
          GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(CeGetThreadPriority((HANDLE)0x1234) == THREAD_PRIORITY_ERROR_RETURN &&
          GetLastError() == ERROR_INVALID_HANDLE);

    /* TLS: slots 0-3 are reserved; CE 5's loose rules. */
    tls_slot = TlsAlloc();
    CHECK(tls_slot == 4);
    CHECK(TlsAlloc() == 5);
    SetLastError(SENTINEL);
    CHECK(TlsGetValue(64) == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!TlsSetValue(64, (LPVOID)1) && GetLastError() == ERROR_INVALID_PARAMETER);
    SetLastError(SENTINEL);
    CHECK(TlsGetValue(tls_slot) == NULL && GetLastError() == NO_ERROR);
    CHECK(TlsSetValue(tls_slot, (LPVOID)0x99));
    SetLastError(SENTINEL);
    CHECK(TlsGetValue(tls_slot) == (LPVOID)0x99 && GetLastError() == SENTINEL);
    CHECK(TlsGetValue(40) == NULL); /* no allocation check */
    SetLastError(SENTINEL);
    if (ce6) { /* CE 6 checks the slot */
        CHECK(!TlsFree(64) && GetLastError() == ERROR_INVALID_PARAMETER);
        CHECK(!TlsFree(2) && GetLastError() == ERROR_INVALID_PARAMETER);
        CHECK(!TlsFree(50) && GetLastError() == ERROR_INVALID_PARAMETER);
    } else {
        CHECK(!TlsFree(64) && GetLastError() == SENTINEL);
        CHECK(TlsFree(2));  /* reserved: still TRUE */
        CHECK(TlsFree(50)); /* never allocated: TRUE */
    }
    put(&flag, 0);
    t = CreateThread(NULL, 0, tls_reader, NULL, 0, NULL);
    POLL(get(&flag) == 1);
    CHECK(TlsFree(tls_slot));
    CHECK(TlsGetValue(tls_slot) == NULL);
    CHECK(SetEvent(event));
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code) && code == 0);
    CloseHandle(t);
    CHECK(TlsAlloc() == 4); /* the lowest free slot again */
    int allocated = 2;
    while (TlsAlloc() != TLS_OUT_OF_INDEXES) ++allocated;
    CHECK(allocated == 60);
    SetLastError(SENTINEL);
    CHECK(TlsAlloc() == TLS_OUT_OF_INDEXES &&
          GetLastError() == (ce6 ? ERROR_INVALID_PARAMETER : SENTINEL));

    /* 64 threads, each creating the next and waiting on it: 63 waits parked at once, what one
     * process's channel holds (decision 0005); this thread polls rather than park a 64th. */
    t = CreateThread(NULL, 0, chain, (LPVOID)63, 0, NULL);
    POLL(get(&chain_done) == 64);
    CHECK(WaitForSingleObject(t, LONG_WAIT) == WAIT_OBJECT_0);
    CHECK(GetExitCodeThread(t, &code) && code == 0);
    CHECK(get(&chain_done) == 64);
    CloseHandle(t);

    if (failures == 0) printf("ok\n");
    return failures == 0 ? 0 : 1;
}
