// Point-to-point message queues (<msgqueue.h>). The queues live in the kernel; a message of up
// to one slot's worth of bytes is one call, a larger one goes in parts (docs/decisions/
// 0007-message-queues.md). The kernel never blocks on a queue: an empty (or full) queue answers
// ERROR_TIMEOUT at once, and with time left this shim waits on the queue handle (a wait parked
// in the kernel, like any WaitForSingleObject) and asks again, as CE's own loop waits on the
// end's event. Rules and error codes: docs/semantics/msgqueue.md.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>

#include "coredll/api/api.h"
// clang-format off
#include <msgqueue.h>
// clang-format on

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

uint64_t now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

// A CE timeout as a deadline: none for INFINITE.
class Deadline {
public:
    explicit Deadline(DWORD timeout_ms) {
        if (timeout_ms != INFINITE) at_ = now_ms() + timeout_ms;
    }
    // What is left to wait, in CE milliseconds (0: time is up).
    DWORD left() const {
        if (!at_) return INFINITE;
        const uint64_t now = now_ms();
        return now >= *at_ ? 0 : static_cast<DWORD>(std::min<uint64_t>(*at_ - now, INFINITE - 1));
    }

private:
    std::optional<uint64_t> at_;
};

bool is_timeout(const CallStatus& s) {
    return s.delivered && s.failed && static_cast<DWORD>(s.error) == ERROR_TIMEOUT;
}

// After an empty or full answer: waits on the queue handle for the time left. False (last error
// set) when the call must give up: the time is up (ERROR_TIMEOUT) or the wait failed (the handle
// was closed meanwhile: ERROR_INVALID_HANDLE).
bool wait_for_turn(HANDLE queue, const Deadline& deadline) {
    const DWORD left = deadline.left();
    if (left == 0) {
        set_last_error(ERROR_TIMEOUT);
        return false;
    }
    // A time-out here is followed by one last look, so a message that came at the very end is
    // not missed; the look after that reports ERROR_TIMEOUT.
    return WaitForSingleObject(queue, left) != WAIT_FAILED;
}

// A call that answers a handle (its reply is complete only after the call).
template <class Request>
HANDLE call_for_handle(const Request& req, std::span<const std::byte> extra = {}) {
    typename proto::RequestTraits<Request>::Reply rep{};
    if (!finish(Connection::instance().call(req, rep, extra))) return nullptr;
    return handle_from_wire(rep.handle);
}

// A message larger than one request: its parts, then the write itself, repeated after each
// wait while the queue is full. The kernel keeps the staged message meanwhile; a write that
// gives up drops it.
BOOL write_in_parts(HANDLE queue, const std::byte* data, DWORD size, const Deadline& deadline,
                    DWORD flags) {
    Connection& c = Connection::instance();
    proto::MsgQueueWriteRequest req{handle_to_wire(queue), flags, size, 0};
    proto::MsgQueueWriteReply rep{};
    CallStatus s;
    while (req.offset < size) {
        const uint32_t part = std::min<uint32_t>(size - req.offset, proto::kMsgQueueWriteInline);
        s = c.call(req, rep, std::span(data + req.offset, part));
        if (!s.delivered || s.failed) break;
        req.offset += part;
    }
    while (is_timeout(s)) {
        if (!wait_for_turn(queue, deadline)) break;
        req.offset = size;  // try the staged message again
        s = c.call(req, rep);
    }
    if (s.delivered && !s.failed) return finish(s) ? TRUE : FALSE;
    // Giving up: a time-out (wait_for_turn set the error) or the kernel's error.
    if (!is_timeout(s)) finish(s);
    const DWORD error = GetLastError();
    proto::MsgQueueWriteRequest drop{handle_to_wire(queue), 0, 0, 0};
    (void)c.call(drop, rep);
    set_last_error(error);
    return FALSE;
}

}  // namespace

extern "C" {

HANDLE WINAPI CreateMsgQueue(LPCWSTR lpName, LPMSGQUEUEOPTIONS lpOptions) {
    if (lpOptions == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return nullptr;
    }
    proto::MsgQueueCreateRequest req{lpOptions->dwSize,
                                     lpOptions->dwFlags,
                                     lpOptions->dwMaxMessages,
                                     lpOptions->cbMaxMessage,
                                     lpOptions->bReadAccess ? 1u : 0u,
                                     0,
                                     0,
                                     0};
    auto extra = name_bytes(lpName, req);
    return call_for_handle(req, extra);
}

HANDLE WINAPI OpenMsgQueue(HANDLE hSrcProc, HANDLE hMsgQ, LPMSGQUEUEOPTIONS lpOptions) {
    // Missing options travel as a zero size, so the kernel's order of checks (the process
    // first) decides the error.
    proto::MsgQueueOpenRequest req{handle_to_wire(hSrcProc), handle_to_wire(hMsgQ),
                                   lpOptions != nullptr ? lpOptions->dwSize : 0u,
                                   lpOptions != nullptr && lpOptions->bReadAccess ? 1u : 0u};
    return call_for_handle(req);
}

BOOL WINAPI WriteMsgQueue(HANDLE hMsgQ, LPVOID lpBuffer, DWORD cbDataSize, DWORD dwTimeout,
                          DWORD dwFlags) {
    if (lpBuffer == nullptr || cbDataSize == 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    const Deadline deadline(dwTimeout);
    const auto* data = static_cast<const std::byte*>(lpBuffer);
    if (cbDataSize > proto::kMsgQueueWriteInline)
        return write_in_parts(hMsgQ, data, cbDataSize, deadline, dwFlags);
    proto::MsgQueueWriteRequest req{handle_to_wire(hMsgQ), dwFlags, cbDataSize, 0};
    proto::MsgQueueWriteReply rep{};
    for (;;) {
        CallStatus s = Connection::instance().call(req, rep, std::span(data, cbDataSize));
        if (!is_timeout(s)) return finish(s) ? TRUE : FALSE;
        if (!wait_for_turn(hMsgQ, deadline)) return FALSE;
    }
}

BOOL WINAPI ReadMsgQueue(HANDLE hMsgQ, LPVOID lpBuffer, DWORD cbBufferSize,
                         LPDWORD lpNumberOfBytesRead, DWORD dwTimeout, DWORD* pdwFlags) {
    if (lpBuffer == nullptr || static_cast<LONG>(cbBufferSize) <= 0 ||
        lpNumberOfBytesRead == nullptr || pdwFlags == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Connection& c = Connection::instance();
    const Deadline deadline(dwTimeout);
    auto* out = static_cast<std::byte*>(lpBuffer);
    proto::MsgQueueReadRequest req{handle_to_wire(hMsgQ), cbBufferSize, 0, 0};
    proto::MsgQueueReadReply rep{};
    CallStatus s;
    for (;;) {
        s = c.call(req, rep, {}, std::span(out, cbBufferSize));
        if (!is_timeout(s)) break;
        if (!wait_for_turn(hMsgQ, deadline)) return FALSE;
    }
    if (!s.delivered || s.failed) return finish(s) ? TRUE : FALSE;
    // The message is ours now; what did not fit in the first reply is fetched in parts.
    const uint32_t size = std::min<uint32_t>(rep.size, cbBufferSize);
    const uint32_t flags = rep.flags;
    uint32_t got = static_cast<uint32_t>(s.data_bytes);
    while (got < size) {
        proto::MsgQueueReadRequest more{req.handle, cbBufferSize, got, 0};
        proto::MsgQueueReadReply part{};
        CallStatus ps = c.call(more, part, {}, std::span(out + got, size - got));
        if (!ps.delivered || ps.failed || ps.data_bytes == 0) {
            finish(ps);
            return FALSE;
        }
        got += static_cast<uint32_t>(ps.data_bytes);
    }
    *lpNumberOfBytesRead = size;
    *pdwFlags = flags;
    finish(s);  // 0, or ERROR_INSUFFICIENT_BUFFER when the message was cut
    return TRUE;
}

BOOL WINAPI GetMsgQueueInfo(HANDLE hMsgQ, LPMSGQUEUEINFO lpInfo) {
    if (lpInfo == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    proto::MsgQueueInfoRequest req{handle_to_wire(hMsgQ), lpInfo->dwSize};
    proto::MsgQueueInfoReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return FALSE;
    lpInfo->dwFlags = rep.flags;
    lpInfo->dwMaxMessages = rep.max_messages;
    lpInfo->cbMaxMessage = rep.max_bytes;
    lpInfo->dwCurrentMessages = rep.current;
    lpInfo->dwMaxQueueMessages = rep.high_water;
    lpInfo->wNumReaders = rep.readers;
    lpInfo->wNumWriters = rep.writers;
    return TRUE;
}

BOOL WINAPI CloseMsgQueue(HANDLE hMsgQ) { return CloseHandle(hMsgQ); }

}  // extern "C"
