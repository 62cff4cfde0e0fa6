// Point-to-point message queues (<msgqueue.h>). A bounded queue's messages travel through its
// ring, shared memory that this process maps once per queue (MsgRingCache): a write or a read
// that need not wait makes no system call, one that must sleeps on a futex in the ring, and the
// kernel is told only when one of its waits watches the queue. Other queues keep their messages
// in the kernel: a message of up to one slot's worth of bytes is one call, a larger one goes in
// parts, and a call that must wait is parked in the kernel like a wait (docs/decisions/
// 0007-message-queues.md). Rules and error codes: docs/semantics/msgqueue.md.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <span>

#include "coredll/api/api.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/thread_park.h"
#include "protocol/futex.h"
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

// How long a call spins on its ring before it sleeps: a peer on another CPU usually answers
// within a few microseconds; a longer spin only takes a CPU from it on a busy machine.
constexpr int kRingSpins = 200;
// A sleeper looks again at least this often, whatever it missed.
constexpr uint64_t kRingNapNs = 100'000'000;

// Sleeps until `word` moves from `seen`, or until `deadline_ns` (0: never). False once the time
// is up.
bool await_change(std::atomic<uint32_t>& word, uint32_t seen, std::atomic<uint32_t>& sleepers,
                  uint64_t deadline_ns) {
    for (int i = 0; i < kRingSpins; ++i) {
        if (word.load(std::memory_order_acquire) != seen) return true;
        proto::cpu_relax();
    }
    uint64_t nap = kRingNapNs;
    if (deadline_ns != 0) {
        const uint64_t now = proto::monotonic_ns();
        if (now >= deadline_ns) return false;
        nap = std::min(nap, deadline_ns - now);
    }
    sleepers.fetch_add(1);
    proto::futex_wait(word, seen, nap);
    sleepers.fetch_sub(1);
    return deadline_ns == 0 || proto::monotonic_ns() < deadline_ns;
}

uint64_t deadline_of(DWORD timeout) {
    if (timeout == INFINITE || timeout == 0) return 0;
    return proto::monotonic_ns() + uint64_t{timeout} * 1'000'000ULL;
}

// After a change that a kernel wait on `end` (0: reader, 1: writer) may be waiting for.
void tell_kernel(const RingHandle& h, int end) {
    if (h.ring->ring.header().kernel_watch[end].load() == 0) return;
    proto::MsgQueueNotifyRequest req{h.handle, 0};
    proto::MsgQueueNotifyReply rep{};
    (void)Connection::instance().call(req, rep);  // a dead kernel has no waits to tell
}

BOOL fail_with(DWORD error) {
    set_last_error(error);
    return FALSE;
}

// The handle again after a wake-up: still this process's, and still the same end of the same
// queue (a close of one of several references leaves it so). False with the last error set
// when it is not.
bool still_held(std::shared_ptr<RingHandle>& h) {
    if (Connection::instance().kernel_gone()) return fail_with(ERROR_SERVICE_NOT_ACTIVE);
    if (!h->stale.load(std::memory_order_acquire)) return true;
    cek::Win32Error error{};
    auto again = MsgRingCache::instance().get(h->handle, error);
    if (!again) return fail_with(static_cast<DWORD>(error));
    if (again->reader != h->reader || again->ring != h->ring)
        return fail_with(ERROR_INVALID_HANDLE);  // the value names something else now
    h = std::move(again);
    return true;
}

BOOL ring_failure(proto::MsgRing::Outcome out) {
    return fail_with(out == proto::MsgRing::Outcome::not_connected ? ERROR_PIPE_NOT_CONNECTED
                                                                    : ERROR_INVALID_HANDLE);
}

BOOL ring_write(std::shared_ptr<RingHandle> h, const void* data, DWORD size, DWORD timeout,
                DWORD flags) {
    if (size > h->max_bytes) return fail_with(ERROR_INSUFFICIENT_BUFFER);
    const uint64_t deadline = deadline_of(timeout);
    for (;;) {
        proto::MsgRingHeader& head = h->ring->ring.header();
        const uint32_t seen = head.room_seq.load();
        proto::MsgRing::Outcome out;
        {
            ParkDeferral holding_the_ring;
            out = h->ring->ring.write(data, size, flags);
        }
        if (out == proto::MsgRing::Outcome::done) {
            if (head.read_sleepers.load() != 0) proto::futex_wake(head.data_seq, INT_MAX);
            tell_kernel(*h, 0);
            set_last_error(ERROR_SUCCESS);
            return TRUE;
        }
        if (out != proto::MsgRing::Outcome::wait) return ring_failure(out);
        if (timeout == 0 || !await_change(head.room_seq, seen, head.write_sleepers, deadline))
            return fail_with(ERROR_TIMEOUT);
        if (!still_held(h)) return FALSE;
    }
}

BOOL ring_read(std::shared_ptr<RingHandle> h, void* out, DWORD capacity, DWORD* read,
               DWORD timeout, DWORD* flags) {
    const uint64_t deadline = deadline_of(timeout);
    for (;;) {
        proto::MsgRingHeader& head = h->ring->ring.header();
        const uint32_t seen = head.data_seq.load();
        proto::MsgRing::Taken taken;
        proto::MsgRing::Outcome result;
        {
            ParkDeferral holding_the_ring;
            result = h->ring->ring.read(out, capacity, taken);
        }
        if (result == proto::MsgRing::Outcome::done) {
            if (head.write_sleepers.load() != 0) proto::futex_wake(head.room_seq, INT_MAX);
            tell_kernel(*h, 1);
            *read = taken.size;
            *flags = taken.flags;
            set_last_error(taken.truncated ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS);
            return TRUE;
        }
        if (result != proto::MsgRing::Outcome::wait) return ring_failure(result);
        if (timeout == 0 || !await_change(head.data_seq, seen, head.read_sleepers, deadline))
            return fail_with(ERROR_TIMEOUT);
        if (!still_held(h)) return FALSE;
    }
}

// The queue's entry for a write (reader false) or a read; null with the last error set when the
// handle is no such end of the caller's.
std::shared_ptr<RingHandle> queue_end(HANDLE queue, bool reader) {
    cek::Win32Error error{};
    auto h = MsgRingCache::instance().get(handle_to_wire(queue), error);
    if (!h) {
        fail_with(static_cast<DWORD>(error));
        return nullptr;
    }
    if (h->ring && h->reader != reader) {
        fail_with(ERROR_INVALID_HANDLE);
        return nullptr;
    }
    return h;
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
    auto end = queue_end(hMsgQ, false);
    if (!end) return FALSE;
    if (end->ring) return ring_write(std::move(end), lpBuffer, cbDataSize, dwTimeout, dwFlags);
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
    auto end = queue_end(hMsgQ, true);
    if (!end) return FALSE;
    if (end->ring)
        return ring_read(std::move(end), lpBuffer, cbBufferSize, lpNumberOfBytesRead, dwTimeout,
                         pdwFlags);
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
