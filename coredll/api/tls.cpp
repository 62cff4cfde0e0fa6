// Thread-local storage with CE 5's layout and loose rules (ce-kernel-objects.md §3,
// docs/semantics/threads.md §TLS): 64 slots per thread, slots 0-3 reserved (TlsAlloc starts at
// 4), TlsGetValue/TlsSetValue check only the range, TlsFree of any slot below 64 succeeds and
// zeroes that slot in every thread of the process (CE 6: only an allocated slot from 4 up; a
// full TlsAlloc sets ERROR_INVALID_PARAMETER). No kernel call: the slots are the process's.
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "coredll/api/api.h"
#include "coredll/client/thread_park.h"

using namespace cek::coredll;

namespace {

constexpr DWORD kSlots = TLS_MINIMUM_AVAILABLE;  // 64
constexpr DWORD kFirstFree = 4;                  // 0-3: TLSSLOT_MSGQUEUE, _RUNTIME, _KERNEL, reserved

// Every thread's slot array, for TlsFree; threads come and go under the same lock.
std::mutex g_mutex;
uint64_t g_allocated = 0;  // bit per slot
std::unordered_set<LPVOID*>& arrays() {
    static auto* set = new std::unordered_set<LPVOID*>;
    return *set;
}

struct Slots {
    LPVOID value[kSlots] = {};
    Slots() {
        DeferredLock lock(g_mutex);
        arrays().insert(value);
    }
    ~Slots() {
        DeferredLock lock(g_mutex);
        arrays().erase(value);
    }
};

LPVOID* slots() {
    thread_local Slots t_slots;  // a new thread starts with every slot zero
    return t_slots.value;
}

// Zeroes slot `i` in every thread and marks it free; with `only_allocated`, only an allocated
// slot from 4 up (false, nothing done, for any other).
bool free_slot(DWORD i, bool only_allocated) {
    DeferredLock lock(g_mutex);
    if (only_allocated && (i < kFirstFree || (g_allocated & (uint64_t{1} << i)) == 0))
        return false;
    for (LPVOID* a : arrays()) __atomic_store_n(&a[i], nullptr, __ATOMIC_RELAXED);
    g_allocated &= ~(uint64_t{1} << i);
    return true;
}

}  // namespace

extern "C" {

DWORD WINAPI TlsAlloc(void) {
    {
        DeferredLock lock(g_mutex);
        for (DWORD i = kFirstFree; i < kSlots; ++i) {
            if ((g_allocated & (uint64_t{1} << i)) == 0) {
                g_allocated |= uint64_t{1} << i;
                return i;
            }
        }
    }
    // CE 5: the last error is left alone; CE 6 sets ERROR_INVALID_PARAMETER (asked without the
    // lock: it may connect to the kernel).
    if (ce6_rules()) set_last_error(ERROR_INVALID_PARAMETER);
    return TLS_OUT_OF_INDEXES;
}

BOOL WINAPI TlsFree(DWORD dwTlsIndex) {
    if (dwTlsIndex >= kSlots) {
        if (ce6_rules()) set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;  // CE 5: no last error
    }
    // An allocated slot from 4 up is freed under either personality; only for another slot is
    // the kernel's personality asked (CE 5 frees any slot below 64, reserved or not; CE 6 refuses).
    if (!free_slot(dwTlsIndex, true)) {
        if (ce6_rules()) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        free_slot(dwTlsIndex, false);
    }
    return TRUE;
}

LPVOID WINAPI TlsGetValue(DWORD dwTlsIndex) {
    if (dwTlsIndex >= kSlots) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    LPVOID v = __atomic_load_n(&slots()[dwTlsIndex], __ATOMIC_RELAXED);
    // A stored NULL says so with NO_ERROR; a value leaves the last error alone.
    if (v == nullptr) set_last_error(NO_ERROR);
    return v;
}

BOOL WINAPI TlsSetValue(DWORD dwTlsIndex, LPVOID lpTlsValue) {
    if (dwTlsIndex >= kSlots) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    __atomic_store_n(&slots()[dwTlsIndex], lpTlsValue, __ATOMIC_RELAXED);
    return TRUE;
}

}  // extern "C"
