/*
 * <msgqueue.h> for CEKernel's coredll: Windows CE 5's point-to-point message queues. As on CE,
 * include <windows.h> first (this header includes it anyway). Queues are kernel objects with a
 * reader end and a writer end; their handles are waitable (WaitForSingleObject) and closed with
 * CloseMsgQueue or CloseHandle. Rules and error codes: docs/semantics/msgqueue.md.
 */
#ifndef CEKERNEL_MSGQUEUE_H
#define CEKERNEL_MSGQUEUE_H

#include "windows.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MSGQUEUE_NOPRECOMMIT 0x00000001
#define MSGQUEUE_ALLOW_BROKEN 0x00000002
#define MSGQUEUE_MSGALERT 0x00000001

typedef struct MSGQUEUEOPTIONS_OS {
    DWORD dwSize;
    DWORD dwFlags;
    DWORD dwMaxMessages;
    DWORD cbMaxMessage;
    BOOL bReadAccess;
} MSGQUEUEOPTIONS, *LPMSGQUEUEOPTIONS, *PMSGQUEUEOPTIONS;

typedef struct MSGQUEUEINFO {
    DWORD dwSize;
    DWORD dwFlags;
    DWORD dwMaxMessages;
    DWORD cbMaxMessage;
    DWORD dwCurrentMessages;
    DWORD dwMaxQueueMessages;
    WORD wNumReaders;
    WORD wNumWriters;
} MSGQUEUEINFO, *LPMSGQUEUEINFO, *PMSGQUEUEINFO;

WINBASEAPI HANDLE WINAPI CreateMsgQueue(LPCWSTR lpName, LPMSGQUEUEOPTIONS lpOptions);
WINBASEAPI HANDLE WINAPI OpenMsgQueue(HANDLE hSrcProc, HANDLE hMsgQ, LPMSGQUEUEOPTIONS lpOptions);
WINBASEAPI BOOL WINAPI ReadMsgQueue(HANDLE hMsgQ, LPVOID lpBuffer, DWORD cbBufferSize,
                                    LPDWORD lpNumberOfBytesRead, DWORD dwTimeout,
                                    DWORD* pdwFlags);
WINBASEAPI BOOL WINAPI WriteMsgQueue(HANDLE hMsgQ, LPVOID lpBuffer, DWORD cbDataSize,
                                     DWORD dwTimeout, DWORD dwFlags);
WINBASEAPI BOOL WINAPI GetMsgQueueInfo(HANDLE hMsgQ, LPMSGQUEUEINFO lpInfo);
WINBASEAPI BOOL WINAPI CloseMsgQueue(HANDLE hMsgQ);

#ifdef __cplusplus
}
#endif

#endif /* CEKERNEL_MSGQUEUE_H */
