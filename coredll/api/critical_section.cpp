// Critical sections: recursive, in-process locks in CE's CRITICAL_SECTION layout, on a futex.
//
// needtrap is the futex word: 0 free, 1 held, 2 held with waiters (only then does Leave make a
// system call). OwnerThread holds the owner's thread id (GetCurrentThreadId) while held and 0
// otherwise; LockCount is the recursion depth; dwContentions counts the Enter calls that had to
// wait; hCrit points at the section itself while it is initialised (0 after Delete).
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

#include "coredll/api/api.h"
#include "coredll/client/log.h"

using namespace cek::coredll;

namespace {

uint32_t* word(LPCRITICAL_SECTION cs) { return reinterpret_cast<uint32_t*>(&cs->needtrap); }

uintptr_t self() { return static_cast<uintptr_t>(GetCurrentThreadId()); }

uintptr_t owner(LPCRITICAL_SECTION cs) {
    return __atomic_load_n(reinterpret_cast<uintptr_t*>(&cs->OwnerThread), __ATOMIC_RELAXED);
}
void set_owner(LPCRITICAL_SECTION cs, uintptr_t tid) {
    __atomic_store_n(reinterpret_cast<uintptr_t*>(&cs->OwnerThread), tid, __ATOMIC_RELAXED);
}

void futex_wait(uint32_t* w, uint32_t expected) {
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_one(uint32_t* w) { syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0); }

bool try_take(uint32_t* w) {
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(w, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void take_slow(LPCRITICAL_SECTION cs) {
    __atomic_add_fetch(&cs->dwContentions, 1, __ATOMIC_RELAXED);
    uint32_t* w = word(cs);
    // Mark the lock contended, and sleep while someone else holds it.
    while (__atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE) != 0) futex_wait(w, 2);
}

void became_owner(LPCRITICAL_SECTION cs) {
    set_owner(cs, self());
    cs->LockCount = 1;
}

}  // namespace

extern "C" {

void WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (lpCriticalSection == nullptr) return;
    lpCriticalSection->LockCount = 0;
    lpCriticalSection->OwnerThread = nullptr;
    lpCriticalSection->hCrit = lpCriticalSection;
    lpCriticalSection->needtrap = 0;
    lpCriticalSection->dwContentions = 0;
}

void WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (lpCriticalSection == nullptr) return;
    if (lpCriticalSection->needtrap != 0)
        log().error("DeleteCriticalSection of a section that is held (owner {})",
                     owner(lpCriticalSection));
    lpCriticalSection->hCrit = nullptr;
}

void WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (owner(lpCriticalSection) == self()) {
        ++lpCriticalSection->LockCount;
        return;
    }
    if (!try_take(word(lpCriticalSection))) take_slow(lpCriticalSection);
    became_owner(lpCriticalSection);
}

BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (owner(lpCriticalSection) == self()) {
        ++lpCriticalSection->LockCount;
        return TRUE;
    }
    if (!try_take(word(lpCriticalSection))) return FALSE;
    became_owner(lpCriticalSection);
    return TRUE;
}

void WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (owner(lpCriticalSection) != self()) {
        log().error("LeaveCriticalSection by thread {}, which does not own it (owner {})",
                     self(), owner(lpCriticalSection));
        return;
    }
    if (--lpCriticalSection->LockCount != 0) return;
    set_owner(lpCriticalSection, 0);
    uint32_t* w = word(lpCriticalSection);
    if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2) futex_wake_one(w);
}

}  // extern "C"
