// Point-to-point message queues (<msgqueue.h>). The queues live in the kernel; a message of up
// to one slot's worth of bytes is one call, a larger one goes in parts (docs/decisions/
// 0007-message-queues.md). A read of an empty queue (a write to a full one) with a time-out is
// parked in the kernel, like a wait, and answered when it is done or the time is up, while the
// kernel serves every other call. Rules and error codes: docs/semantics/msgqueue.md.
#include <algorithm>
#include <cstdint>
#include <span>

#include "coredll/api/api.h"
// clang-format off
#include <msgqueue.h>
// clang-format on

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

// A call that answers a handle (its reply is complete only after the call).
template <class Request>
HANDLE call_for_handle(const Request& req, std::span<const std::byte> extra = {}) {
    typename proto::RequestTraits<Request>::Reply rep{};
    if (!finish(Connection::instance().call(req, rep, extra))) return nullptr;
    return handle_from_wire(rep.handle);
}

// A message larger than one request: its parts, the last of which writes it (and may wait for
// room). The kernel drops the staged parts itself when the write fails or times out.
BOOL write_in_parts(HANDLE queue, const std::byte* data, DWORD size, DWORD timeout, DWORD flags) {
    Connection& c = Connection::instance();
    proto::MsgQueueWriteRequest req{handle_to_wire(queue), flags, size, 0, timeout, 0};
    proto::MsgQueueWriteReply rep{};
    for (;;) {
        const uint32_t part = std::min<uint32_t>(size - req.offset, proto::kMsgQueueWriteInline);
        const CallStatus s = c.call(req, rep, std::span(data + req.offset, part));
        if (!finish(s)) return FALSE;
        req.offset += part;
        if (req.offset == size) return rep.written != 0 ? TRUE : FALSE;
    }
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
    const auto* data = static_cast<const std::byte*>(lpBuffer);
    if (cbDataSize > proto::kMsgQueueWriteInline)
        return write_in_parts(hMsgQ, data, cbDataSize, dwTimeout, dwFlags);
    proto::MsgQueueWriteRequest req{handle_to_wire(hMsgQ), dwFlags, cbDataSize, 0, dwTimeout, 0};
    proto::MsgQueueWriteReply rep{};
    return finish(Connection::instance().call(req, rep, std::span(data, cbDataSize))) ? TRUE
                                                                                       : FALSE;
}

BOOL WINAPI ReadMsgQueue(HANDLE hMsgQ, LPVOID lpBuffer, DWORD cbBufferSize,
                         LPDWORD lpNumberOfBytesRead, DWORD dwTimeout, DWORD* pdwFlags) {
    if (lpBuffer == nullptr || static_cast<LONG>(cbBufferSize) <= 0 ||
        lpNumberOfBytesRead == nullptr || pdwFlags == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    Connection& c = Connection::instance();
    auto* out = static_cast<std::byte*>(lpBuffer);
    proto::MsgQueueReadRequest req{handle_to_wire(hMsgQ), cbBufferSize, 0, dwTimeout};
    proto::MsgQueueReadReply rep{};
    const CallStatus s = c.call(req, rep, {}, std::span(out, cbBufferSize));
    if (!s.delivered || s.failed) return finish(s) ? TRUE : FALSE;
    // The message is ours now; what did not fit in the first reply is fetched in parts.
    const uint32_t size = std::min<uint32_t>(rep.size, cbBufferSize);
    const uint32_t flags = rep.flags;
    uint32_t got = static_cast<uint32_t>(s.data_bytes);
    while (got < size) {
        proto::MsgQueueReadRequest more{req.handle, cbBufferSize, got, 0};  // no waiting
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
