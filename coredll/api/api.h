// Helpers shared by the exported functions: the thread's last error, handle conversion and the
// one place where a kernel reply becomes a Win32 result. Only api/ uses Win32 names.
//
// Include order matters: the kernel's headers (Win32Error enumerators spelled like the Win32
// names) come before <windows.h>, whose ERROR_* macros would otherwise rewrite them. After this
// header, API code spells error codes with the <windows.h> macros.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/utf.h"

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

// FILETIME and the 64-bit count of 100 ns units the kernel speaks.
inline FILETIME to_filetime(uint64_t t) {
    return FILETIME{static_cast<DWORD>(t), static_cast<DWORD>(t >> 32)};
}
inline uint64_t from_filetime(const FILETIME& t) {
    return (uint64_t{t.dwHighDateTime} << 32) | t.dwLowDateTime;
}

// The length of an object name to send; beyond MAX_PATH the kernel only needs to know it is
// too long, so the count stops there.
inline uint32_t object_name_length(LPCWSTR name) {
    uint32_t n = 0;
    while (n <= MAX_PATH && name[n] != 0) ++n;
    return n;
}

// Units of `s` to send, at most `cap` + 1 (so the kernel sees a text that is too long); a null
// string sends nothing.
inline uint32_t length_capped(LPCWSTR s, uint32_t cap) {
    uint32_t n = 0;
    if (s != nullptr)
        while (n <= cap && s[n] != 0) ++n;
    return n;
}

// Stages the `n` units of `text` for this thread's next request that names kTextStaged
// (StageText with `purpose`), in as many requests as it takes: the first failure's status, or
// the last success's.
inline CallStatus stage_text(uint32_t purpose, LPCWSTR text, uint32_t n) {
    Connection& c = Connection::instance();
    CallStatus status{true, false, false, Win32Error{}};
    for (uint32_t offset = 0; offset < n;) {
        const uint32_t part = std::min(n - offset, proto::kStageTextInline);
        proto::StageTextRequest req{n, offset, part, purpose};
        proto::StageTextReply rep{};
        status = c.call(req, rep, std::as_bytes(std::span(text + offset, part)));
        if (!status.delivered || status.failed) return status;
        offset += part;
    }
    return status;
}

// A NUL-terminated wide string as UTF-8, as WideCharToMultiByte(CP_UTF8) gives it (common/utf.h,
// lenient); a null pointer gives "".
inline std::string utf8_of(LPCWSTR s) {
    if (s == nullptr) return {};
    size_t n = 0;
    while (s[n] != 0) ++n;
    return cek::utf8_from_utf16(s, n);
}

// Paths travel with at most MAX_PATH + 1 characters: enough for the kernel to see that a longer
// one is too long, without copying an unbounded string. A null path travels as no characters.
inline std::span<const std::byte> path_bytes(LPCWSTR path, uint32_t& chars) {
    size_t n = 0;
    if (path != nullptr)
        while (n <= MAX_PATH && path[n] != 0) ++n;
    chars = static_cast<uint32_t>(n);
    return std::as_bytes(std::span(path, n));
}

// An optional object name as the request's extra bytes: sets has_name and name_chars when there
// is one (see object_name_length).
template <class Request>
std::span<const std::byte> name_bytes(LPCWSTR name, Request& req) {
    if (name == nullptr) return {};
    req.has_name = 1;
    req.name_chars = object_name_length(name);
    return std::as_bytes(std::span(name, req.name_chars));
}

// The kernel orders a release (SetEvent, ReleaseMutex, a thread's end...) before the wait it
// satisfies, but in another process, where ThreadSanitizer cannot see it: in TSan builds these
// tell it (sync.cpp); elsewhere they do nothing. `object`: the mutex object the caller knows
// from the mutex's word, 0 when it knows none.
void released(HANDLE h, uint64_t object = 0);
void acquired(HANDLE h, uint64_t object = 0);

// Whether the kernel runs the CE 6 personality (`cekernel --personality ce6`), for the rules the
// shim applies itself (threads.md, processes.md, the TLS slots). Without a kernel: CE 5.
inline bool ce6_rules() {
    Connection& c = Connection::instance();
    return c.ensure_connected() && c.hello().personality >= 6;
}

// Sleep(INFINITE): CE 5's self-suspend (thread.cpp).
void sleep_forever();
// A program CreateProcessW started, before main: the main thread's identity, and its
// suspension when created suspended (thread.cpp).
void attach_primary_thread();

// Applies what the kernel said to the last error; true when the call succeeded.
inline bool finish(const CallStatus& s) {
    if (s.set_error || !s.delivered) set_last_error(static_cast<DWORD>(s.error));
    return s.delivered && !s.failed;
}

}  // namespace cek::coredll
