// Events, mutexes, semaphores, waits and DuplicateHandle: every call goes to the kernel, which
// owns the objects; a wait that cannot complete at once leaves its call pending in the kernel
// (the calling thread sleeps on its slot) while every other thread and process goes on.
#include <cstdint>
#include <span>

#include "coredll/api/api.h"
#include "coredll/client/file_cache.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/mutex_word_cache.h"
#include "coredll/client/thread_id.h"
#include "protocol/mutex_word.h"

using namespace cek::coredll;
namespace proto = cek::proto;

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {
// One synchronisation point per handle value (two values sharing a point only order more than
// needed, in sanitizer builds alone), and one per mutex object when the caller knows it from the
// mutex's word, so that a mutex handed from one thread to another through the kernel orders them
// whichever values they hold (CE 6 gives each open of an object its own value). A wait on
// several handles, events and semaphores are ordered by the value alone: a program that signals
// through one value and waits through another is ordered by the kernel but not shown to
// ThreadSanitizer, nor is a thread's id as a handle.
char g_handle_points[1024];
char g_object_points[1024];
char* handle_point(HANDLE h) {
    return &g_handle_points[(reinterpret_cast<uintptr_t>(h) >> 2) % sizeof g_handle_points];
}
}  // namespace

void cek::coredll::released(HANDLE h, uint64_t object) {
    __tsan_release(handle_point(h));
    if (object != 0) __tsan_release(&g_object_points[object % sizeof g_object_points]);
}
void cek::coredll::acquired(HANDLE h, uint64_t object) {
    __tsan_acquire(handle_point(h));
    if (object != 0) __tsan_acquire(&g_object_points[object % sizeof g_object_points]);
}
#else
void cek::coredll::released(HANDLE, uint64_t) {}
void cek::coredll::acquired(HANDLE, uint64_t) {}
#endif

namespace {

HANDLE create_sync(proto::SyncKind kind, uint32_t flags, int32_t initial, int32_t maximum,
                   LPCWSTR name) {
    proto::SyncCreateRequest req{static_cast<uint32_t>(kind), flags, initial, maximum, 0, 0};
    auto extra = name_bytes(name, req);
    proto::SyncCreateReply rep{};
    if (!finish(Connection::instance().call(req, rep, extra))) return nullptr;
    return handle_from_wire(rep.handle);
}

}  // namespace

extern "C" {

HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES /*ignored in CE*/, BOOL bManualReset,
                           BOOL bInitialState, LPCWSTR lpName) {
    uint32_t flags = (bManualReset ? proto::kEventManualReset : 0u) |
                     (bInitialState ? proto::kEventInitialState : 0u);
    return create_sync(proto::SyncKind::Event, flags, 0, 0, lpName);
}

HANDLE WINAPI OpenEventW(DWORD dwDesiredAccess, BOOL bInheritHandle, LPCWSTR lpName) {
    if (lpName == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    proto::SyncOpenRequest req{static_cast<uint32_t>(proto::SyncKind::Event), dwDesiredAccess,
                               bInheritHandle ? 1u : 0u, object_name_length(lpName)};
    proto::SyncOpenReply rep{};
    if (!finish(Connection::instance().call(req, rep,
                                            std::as_bytes(std::span(lpName, req.name_chars)))))
        return nullptr;
    return handle_from_wire(rep.handle);
}

static BOOL event_op(HANDLE hEvent, proto::EventOp op) {
    if (op != proto::EventOp::Reset) released(hEvent);
    proto::EventSetRequest req{handle_to_wire(hEvent), static_cast<uint32_t>(op)};
    proto::EventSetReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

BOOL WINAPI SetEvent(HANDLE hEvent) { return event_op(hEvent, proto::EventOp::Set); }
BOOL WINAPI ResetEvent(HANDLE hEvent) { return event_op(hEvent, proto::EventOp::Reset); }
BOOL WINAPI PulseEvent(HANDLE hEvent) { return event_op(hEvent, proto::EventOp::Pulse); }

HANDLE WINAPI CreateMutexW(LPSECURITY_ATTRIBUTES /*ignored in CE*/, BOOL bInitialOwner,
                           LPCWSTR lpName) {
    HANDLE h = create_sync(proto::SyncKind::Mutex, bInitialOwner ? proto::kMutexInitialOwner : 0u,
                           0, 0, lpName);
    if (h != nullptr) MutexWordCache::instance().note_mutex(handle_to_wire(h));
    return h;
}

BOOL WINAPI ReleaseMutex(HANDLE hMutex) {
    auto word = MutexWordCache::instance().get(handle_to_wire(hMutex));
    released(hMutex, word ? word->object_id() : 0);
    // Owned through the word: released there, no round trip (protocol/mutex_word.h).
    if (word && proto::mutex_word_release(word->word(), current_tid())) return TRUE;
    proto::MutexReleaseRequest req{handle_to_wire(hMutex), 0};
    proto::MutexReleaseReply rep{};
    return finish(Connection::instance().call(req, rep)) ? TRUE : FALSE;
}

HANDLE WINAPI CreateSemaphoreW(LPSECURITY_ATTRIBUTES /*ignored in CE*/, LONG lInitialCount,
                               LONG lMaximumCount, LPCWSTR lpName) {
    return create_sync(proto::SyncKind::Semaphore, 0, lInitialCount, lMaximumCount, lpName);
}

BOOL WINAPI ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount) {
    released(hSemaphore);
    proto::SemaphoreReleaseRequest req{handle_to_wire(hSemaphore), lReleaseCount};
    proto::SemaphoreReleaseReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    if (lpPreviousCount != nullptr) *lpPreviousCount = rep.previous;
    return TRUE;
}

DWORD WINAPI WaitForMultipleObjects(DWORD nCount, CONST HANDLE* lpHandles, BOOL bWaitAll,
                                    DWORD dwMilliseconds) {
    if (nCount == 0 || nCount > MAXIMUM_WAIT_OBJECTS || lpHandles == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return WAIT_FAILED;
    }
    // A free mutex, or one the caller owns, is taken through its word without the kernel.
    std::shared_ptr<MappedMutexWord> word;
    if (nCount == 1 && !bWaitAll) {
        word = MutexWordCache::instance().get(handle_to_wire(lpHandles[0]));
        if (word && proto::mutex_word_acquire(word->word(), current_tid())) {
            acquired(lpHandles[0], word->object_id());
            return WAIT_OBJECT_0;
        }
    }
    uint32_t handles[MAXIMUM_WAIT_OBJECTS];
    for (DWORD i = 0; i < nCount; ++i) handles[i] = handle_to_wire(lpHandles[i]);
    proto::WaitObjectsRequest req{nCount, bWaitAll ? 1u : 0u, dwMilliseconds, 0};
    proto::WaitObjectsReply rep{};
    if (!finish(Connection::instance().call(req, rep,
                                            std::as_bytes(std::span(handles, nCount)))))
        return WAIT_FAILED;
    const uint64_t object = word ? word->object_id() : 0;  // one handle: index 0
    if (rep.result < WAIT_OBJECT_0 + nCount)
        acquired(lpHandles[rep.result - WAIT_OBJECT_0], object);
    else if (rep.result >= WAIT_ABANDONED_0 && rep.result < WAIT_ABANDONED_0 + nCount)
        acquired(lpHandles[rep.result - WAIT_ABANDONED_0], object);
    return rep.result;
}

DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) {
    return WaitForMultipleObjects(1, &hHandle, FALSE, dwMilliseconds);
}

// CE's pseudo-handles (64 + SH_CURPROC / SH_CURTHREAD).
HANDLE WINAPI GetCurrentProcess(void) { return handle_from_wire(proto::kCurrentProcessHandle); }
HANDLE WINAPI GetCurrentThread(void) { return handle_from_wire(proto::kCurrentThreadHandle); }

BOOL WINAPI DuplicateHandle(HANDLE hSourceProcessHandle, HANDLE hSourceHandle,
                            HANDLE hTargetProcessHandle, LPHANDLE lpTargetHandle,
                            DWORD dwDesiredAccess, BOOL bInheritHandle, DWORD dwOptions) {
    if (lpTargetHandle == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);  // CE 5: every failure is this
        return FALSE;
    }
    proto::DuplicateRequest req{handle_to_wire(hSourceProcessHandle),
                                handle_to_wire(hSourceHandle),
                                handle_to_wire(hTargetProcessHandle),
                                dwDesiredAccess,
                                bInheritHandle ? 1u : 0u,
                                dwOptions};
    proto::DuplicateReply rep{};
    // Before the close, as CloseHandle does: once the kernel has it, the value may be reused.
    if ((dwOptions & DUPLICATE_CLOSE_SOURCE) != 0) MutexWordCache::instance().forget(req.handle);
    const CallStatus s = Connection::instance().call(req, rep);
    if ((dwOptions & DUPLICATE_CLOSE_SOURCE) != 0 && s.delivered) {
        // The source may have been one of ours and be gone now, whatever the outcome: what this
        // process cached for that value is fetched again at its next use.
        FileCache::instance().forget(req.handle);
        MsgRingCache::instance().forget(req.handle);
    }
    if (!finish(s)) return FALSE;
    *lpTargetHandle = handle_from_wire(rep.handle);
    return TRUE;
}

}  // extern "C"
