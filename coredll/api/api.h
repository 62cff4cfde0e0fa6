// Helpers shared by the exported functions: the thread's last error, handle conversion and the
// one place where a kernel reply becomes a Win32 result. Only api/ uses Win32 names.
//
// Include order matters: the kernel's headers (Win32Error enumerators spelled like the Win32
// names) come before <windows.h>, whose ERROR_* macros would otherwise rewrite them. After this
// header, API code spells error codes with the <windows.h> macros.
#pragma once

#include <cstdint>

#include "coredll/client/connection.h"
// clang-format off
#include <windows.h>
// clang-format on

namespace cek::coredll {

extern thread_local DWORD t_last_error;

inline void set_last_error(DWORD e) { t_last_error = e; }

// Handles travel as 32-bit values (CE's); INVALID_HANDLE_VALUE as 0xFFFFFFFF. A pointer that
// does not fit is no handle of ours and becomes 0, which the kernel rejects.
inline uint32_t handle_to_wire(HANDLE h) {
    if (h == INVALID_HANDLE_VALUE) return 0xFFFFFFFFu;
    auto v = reinterpret_cast<uintptr_t>(h);
    return v > 0xFFFFFFFFu ? 0u : static_cast<uint32_t>(v);
}
inline HANDLE handle_from_wire(uint32_t v) {
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(v));
}

// The length of an object name to send; beyond MAX_PATH the kernel only needs to know it is
// too long, so the count stops there.
inline uint32_t object_name_length(LPCWSTR name) {
    uint32_t n = 0;
    while (n <= MAX_PATH && name[n] != 0) ++n;
    return n;
}

// Applies what the kernel said to the last error; true when the call succeeded.
inline bool finish(const CallStatus& s) {
    if (s.set_error || !s.delivered) set_last_error(static_cast<DWORD>(s.error));
    return s.delivered && !s.failed;
}

}  // namespace cek::coredll
