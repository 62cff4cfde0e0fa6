/* api_msgqueue: <msgqueue.h> end to end from a plain C program built with -fshort-wchar, as CE
 * sources are, against a private kernel: the checks the shim makes itself (null pointers,
 * sizes), the last error on every path, waits over a queue, an event and a mutex, and messages
 * larger than a channel slot. Exits 0 when every check passed; prints each failed check. */
#include <windows.h>
#include <msgqueue.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "api_msgqueue: line %d: %s (last error %u)\n", __LINE__, #cond, \
                    (unsigned)GetLastError());                                           \
            ++failures;                                                                  \
        }                                                                                \
    } while (0)

#define SENTINEL 0xDEADBEEF

static MSGQUEUEOPTIONS options(DWORD flags, DWORD max_messages, DWORD max_bytes, BOOL read) {
    MSGQUEUEOPTIONS o;
    o.dwSize = sizeof o;
    o.dwFlags = flags;
    o.dwMaxMessages = max_messages;
    o.cbMaxMessage = max_bytes;
    o.bReadAccess = read;
    return o;
}

static char big[300000];
static char back[300000];

int main(void) {
    CHECK(sizeof(MSGQUEUEOPTIONS) == 20 && sizeof(MSGQUEUEINFO) == 28);

    /* CreateMsgQueue: a NULL options pointer, then the kernel's checks. */
    SetLastError(SENTINEL);
    CHECK(CreateMsgQueue(NULL, NULL) == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    MSGQUEUEOPTIONS o = options(0, 4, 64, TRUE);
    o.dwSize = 19;
    CHECK(CreateMsgQueue(NULL, &o) == NULL && GetLastError() == ERROR_INVALID_PARAMETER);
    o = options(0, 17, 0x100000, TRUE);
    CHECK(CreateMsgQueue(NULL, &o) == NULL && GetLastError() == ERROR_OUTOFMEMORY);

    /* A named pair: last error 0, then ERROR_ALREADY_EXISTS for the joining end. */
    o = options(0, 2, 64, TRUE);
    SetLastError(SENTINEL);
    HANDLE r = CreateMsgQueue(L"api-queue", &o);
    CHECK(r != NULL && GetLastError() == 0);
    o.bReadAccess = FALSE;
    SetLastError(SENTINEL);
    HANDLE w = CreateMsgQueue(L"api-queue", &o);
    CHECK(w != NULL && w != r && GetLastError() == ERROR_ALREADY_EXISTS);

    /* OpenMsgQueue: same end again (CE 6: under a new value), last error 0; a NULL queue
     * handle. GetProcessId, CE 6's, tells the personalities apart. */
    const int ce6 = GetProcessId(GetCurrentProcess()) != 0;
    SetLastError(SENTINEL);
    HANDLE w2 = OpenMsgQueue(GetCurrentProcess(), r, &o);
    CHECK(w2 != NULL && (w2 == w) == !ce6 && GetLastError() == 0);
    CHECK(OpenMsgQueue(GetCurrentProcess(), NULL, &o) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(OpenMsgQueue(GetCurrentProcess(), r, NULL) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(CloseMsgQueue(w2));

    /* Write and read: argument checks, then messages with the last error 0. */
    char buf[64];
    DWORD got = 0, flags = 0;
    CHECK(!WriteMsgQueue(w, NULL, 4, 0, 0) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!WriteMsgQueue(w, "abcd", 0, 0, 0) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(r, NULL, 64, &got, 0, &flags) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(r, buf, 0, &got, 0, &flags) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(r, buf, (DWORD)-1, &got, 0, &flags) &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(r, buf, 64, NULL, 0, &flags) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(r, buf, 64, &got, 0, NULL) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!ReadMsgQueue(w, buf, 64, &got, 0, &flags) && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(!WriteMsgQueue(r, "x", 1, 0, 0) && GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(!ReadMsgQueue(r, buf, 64, &got, 0, &flags) && GetLastError() == ERROR_TIMEOUT);
    CHECK(!ReadMsgQueue(r, buf, 64, &got, 20, &flags) && GetLastError() == ERROR_TIMEOUT);
    char too_big[65] = {0};
    CHECK(!WriteMsgQueue(w, too_big, 65, 0, 0) && GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    SetLastError(SENTINEL);
    CHECK(WriteMsgQueue(w, "first", 5, 0, 0) && GetLastError() == 0);
    CHECK(WriteMsgQueue(w, "second", 6, 0, 0));
    CHECK(!WriteMsgQueue(w, "third", 5, 0, 0) && GetLastError() == ERROR_TIMEOUT);
    CHECK(!WriteMsgQueue(w, "third", 5, 20, 0) && GetLastError() == ERROR_TIMEOUT);
    CHECK(WriteMsgQueue(w, "urgent", 6, 0, MSGQUEUE_MSGALERT));  /* the alert slot */

    MSGQUEUEINFO info;
    memset(&info, 0, sizeof info);
    info.dwSize = 27;
    CHECK(!GetMsgQueueInfo(r, &info) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(!GetMsgQueueInfo(r, NULL) && GetLastError() == ERROR_INVALID_PARAMETER);
    info.dwSize = sizeof info;
    SetLastError(SENTINEL);
    CHECK(GetMsgQueueInfo(r, &info) && GetLastError() == SENTINEL);  /* set on failure only */
    CHECK(info.dwMaxMessages == 2 && info.cbMaxMessage == 64 && info.dwCurrentMessages == 2 &&
          info.dwMaxQueueMessages == 2 && info.wNumReaders == 1 && info.wNumWriters == 1);

    /* A wait over an event, a mutex and the reader end: the queue (index 2) is ready. */
    HANDLE ev = CreateEventW(NULL, FALSE, FALSE, NULL);
    HANDLE mx = CreateMutexW(NULL, FALSE, NULL);
    HANDLE set[3] = {ev, r, mx};
    CHECK(WaitForMultipleObjects(3, set, FALSE, 0) == WAIT_OBJECT_0 + 1);
    CHECK(WaitForSingleObject(w, 0) == WAIT_TIMEOUT);  /* full */

    SetLastError(SENTINEL);
    CHECK(ReadMsgQueue(r, buf, 64, &got, 0, &flags) && GetLastError() == 0);
    CHECK(got == 6 && memcmp(buf, "urgent", 6) == 0 && flags == MSGQUEUE_MSGALERT);
    CHECK(ReadMsgQueue(r, buf, 3, &got, 0, &flags) && GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK(got == 3 && memcmp(buf, "fir", 3) == 0 && flags == 0);
    CHECK(WaitForSingleObject(w, 0) == WAIT_OBJECT_0);  /* room again */
    CHECK(ReadMsgQueue(r, buf, 64, &got, INFINITE, &flags) && got == 6);
    CHECK(WaitForMultipleObjects(3, set, FALSE, 0) == WAIT_OBJECT_0 + 2);  /* the mutex now */
    CHECK(ReleaseMutex(mx));

    /* Closing the writer without ALLOW_BROKEN breaks the queue. */
    CHECK(WriteMsgQueue(w, "lost", 4, 0, 0));
    CHECK(CloseMsgQueue(w));
    CHECK(!ReadMsgQueue(r, buf, 64, &got, INFINITE, &flags) &&
          GetLastError() == ERROR_PIPE_NOT_CONNECTED);
    CHECK(WaitForSingleObject(r, INFINITE) == WAIT_OBJECT_0);  /* both ends signalled */
    CHECK(OpenMsgQueue(GetCurrentProcess(), r, &o) == NULL &&
          GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK(CloseMsgQueue(r));
    CHECK(!CloseMsgQueue(r) && GetLastError() == ERROR_INVALID_HANDLE);

    /* Large messages, in parts, with ALLOW_BROKEN and an unnamed queue. */
    o = options(MSGQUEUE_ALLOW_BROKEN, 1, sizeof big, FALSE);
    HANDLE bw = CreateMsgQueue(NULL, &o);
    CHECK(bw != NULL);
    o.bReadAccess = TRUE;
    HANDLE br = OpenMsgQueue(GetCurrentProcess(), bw, &o);
    CHECK(br != NULL);
    for (size_t i = 0; i < sizeof big; ++i) big[i] = (char)(i * 31 + 7);
    CHECK(WriteMsgQueue(bw, big, sizeof big, 0, 0));
    CHECK(!WriteMsgQueue(bw, big, sizeof big, 10, 0) && GetLastError() == ERROR_TIMEOUT);
    CHECK(ReadMsgQueue(br, back, sizeof back, &got, 0, &flags) && got == sizeof big);
    CHECK(memcmp(back, big, sizeof big) == 0);
    CHECK(WriteMsgQueue(bw, big, 100000, 0, 0));
    CHECK(CloseMsgQueue(bw));  /* ALLOW_BROKEN: the message stays */
    memset(back, 0, sizeof back);
    CHECK(ReadMsgQueue(br, back, 50000, &got, 0, &flags) &&
          GetLastError() == ERROR_INSUFFICIENT_BUFFER && got == 50000);
    CHECK(memcmp(back, big, 50000) == 0 && back[50000] == 0);
    CHECK(!ReadMsgQueue(br, back, 64, &got, 0, &flags) && GetLastError() == ERROR_TIMEOUT);
    CHECK(CloseMsgQueue(br));

    if (failures == 0) printf("ok\n");
    return failures == 0 ? 0 : 1;
}
