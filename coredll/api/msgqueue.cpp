// Point-to-point message queues (<msgqueue.h>). A bounded queue's messages travel through its
// ring, shared memory that this process maps once per queue (MsgRingCache): a write or a read
// that need not wait makes no system call, one that must sleeps on a futex in the ring, and the
// kernel is told only when one of its waits watches the queue. Other queues keep their messages
// in the kernel: a message of up to one slot's worth of bytes is one call, a larger one goes in
// parts, and a call that must wait is parked in the kernel like a wait (docs/decisions/
// 0007-message-queues.md). Rules and error codes: docs/semantics/msgqueue.md.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>

#include "coredll/api/api.h"
#include "coredll/client/log.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/thread_id.h"
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
// Yields instead, when the peer last ran on this CPU (it cannot be running now).
constexpr int kRingYields = 4;
// A sleeper looks again at least this often, whatever it missed.
constexpr uint64_t kRingNapNs = 100'000'000;
// A caller waiting for the ring's lock checks this often whether its holder still exists.
constexpr uint64_t kLockNapNs = 10'000'000;
// A call that must not wait (time-out 0) still waits this long for the lock.
constexpr uint64_t kLockPatienceNs = 100'000'000;

uint32_t this_cpu() { return static_cast<uint32_t>(sched_getcpu()); }

// Waits until `word` moves from `seen`, or until `deadline_ns` (0: never): first without
// sleeping, if the peer (last seen on `peer_cpu`) can answer meanwhile: on another CPU it may be
// running, so spin; on this one it cannot, so yield to it. False once the time is up.
bool await_change(std::atomic<uint32_t>& word, uint32_t seen, std::atomic<uint32_t>& sleepers,
                  uint64_t deadline_ns, const std::atomic<uint32_t>& peer_cpu) {
    if (peer_cpu.load(std::memory_order_relaxed) == this_cpu()) {
        for (int i = 0; i < kRingYields && word.load(std::memory_order_acquire) == seen; ++i)
            sched_yield();
    } else {
        for (int i = 0; i < kRingSpins && word.load(std::memory_order_acquire) == seen; ++i)
            proto::cpu_relax();
    }
    if (word.load(std::memory_order_acquire) != seen) return true;
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

// Whether thread `tid` is gone (or a zombie): a ring lock it holds will never be let go.
bool thread_gone(uint32_t tid) {
    char path[40];
    std::snprintf(path, sizeof path, "/proc/%u/stat", tid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT || errno == ESRCH;
    char buf[256];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return true;
    buf[n] = '\0';
    const char* paren = std::strrchr(buf, ')');  // the state follows the command's last ')'
    return paren != nullptr && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

// Takes the ring's lock for the calling thread, deferring parks (`defer`) only while it holds
// it: a thread waiting for the lock can be suspended. A holder that died is taken over. False
// once `deadline_ns` (0: none) has passed.
bool lock_ring(proto::MsgRing& ring, uint64_t deadline_ns, ParkDeferral& defer) {
    const uint32_t me = current_tid();
    proto::MsgRingHeader& h = ring.header();
    for (int spin = 0;; ++spin) {
        defer.resume();
        if (ring.try_lock(me)) return true;
        const uint32_t holder = h.lock.load();
        if (spin < kRingSpins || holder == 0) {
            proto::cpu_relax();
            continue;
        }
        defer.pause();
        uint64_t nap = kLockNapNs;
        if (deadline_ns != 0) {
            const uint64_t now = proto::monotonic_ns();
            if (now >= deadline_ns) return false;
            nap = std::min(nap, deadline_ns - now);
        }
        h.lock_waiters.fetch_add(1);
        const bool woken = proto::futex_wait(h.lock, holder, nap);
        h.lock_waiters.fetch_sub(1);
        if (!woken && h.lock.load() == holder && thread_gone(holder)) {
            defer.resume();
            if (ring.take_over(holder, me)) {
                log().warn("a message queue ring's lock was held by thread {}, which is gone: "
                            "taken over",
                            holder);
                return true;
            }
        }
        spin = kRingSpins;  // spun once already: straight back to sleep if still held
    }
}

void unlock_ring(proto::MsgRing& ring) {
    if (ring.unlock()) proto::futex_wake(ring.header().lock, 1);
}

BOOL fail_with(DWORD error) {
    set_last_error(error);
    return FALSE;
}

// After a wake-up or a close by this process: still a handle of ours? False with the last error
// set when it is not.
bool still_ours(std::shared_ptr<RingHandle>& h) {
    if (Connection::instance().kernel_gone()) return fail_with(ERROR_SERVICE_NOT_ACTIVE);
    if (!h->stale.load(std::memory_order_acquire)) return true;
    cek::Win32Error error{};
    if (!MsgRingCache::instance().still_held(*h, error))
        return fail_with(static_cast<DWORD>(error));
    auto again = MsgRingCache::instance().get(h->handle, error);
    if (!again) return fail_with(static_cast<DWORD>(error));
    if (!again->ring || again->reader != h->reader) return fail_with(ERROR_INVALID_HANDLE);
    h = std::move(again);
    return true;
}

// A call the ring refused: the queue's state, unless the handle itself went (a close of its
// last reference breaks the queue before this process's own bookkeeping hears of it, and CE
// checks the handle first: ERROR_INVALID_HANDLE).
BOOL ring_failure(const RingHandle& h, proto::MsgRing::Outcome out) {
    cek::Win32Error error{};
    if (!MsgRingCache::instance().still_held(h, error)) return fail_with(static_cast<DWORD>(error));
    return fail_with(out == proto::MsgRing::Outcome::not_connected ? ERROR_PIPE_NOT_CONNECTED
                                                                    : ERROR_INVALID_HANDLE);
}

// One message in or out of a ring: `op` runs with the lock held and says what happened. Both
// WriteMsgQueue and ReadMsgQueue: they differ in the futex words and the end they tell.
template <class Op>
BOOL ring_call(std::shared_ptr<RingHandle> h, DWORD timeout, bool reader, Op op) {
    const uint64_t deadline = deadline_of(timeout);
    const uint64_t lock_deadline =
        timeout == 0 ? proto::monotonic_ns() + kLockPatienceNs : deadline;
    for (;;) {
        if (!still_ours(h)) return FALSE;
        proto::MsgRing& ring = h->ring->ring;
        proto::MsgRingHeader& head = ring.header();
        // What this call would sleep on, read before it looks, so no change is missed.
        std::atomic<uint32_t>& word = reader ? head.data_seq : head.room_seq;
        const uint32_t seen = word.load();
        proto::MsgRing::Outcome out;
        {
            // Parks wait until the lock is let go and the kernel told: a thread stopped in
            // between would leave the others (or a kernel wait) asleep.
            ParkDeferral defer;
            if (!lock_ring(ring, lock_deadline, defer)) return fail_with(ERROR_TIMEOUT);
            if (ParkDeferral::pending()) {
                // Suspended or terminated while it waited: it must not take a message now.
                unlock_ring(ring);
                defer.pause();
                continue;
            }
            out = op(ring);
            unlock_ring(ring);
            if (out == proto::MsgRing::Outcome::done) {
                head.cpu[reader ? 0 : 1].store(this_cpu(), std::memory_order_relaxed);
                // Wake the other side's sleepers, and the kernel if it waits on the other end.
                std::atomic<uint32_t>& other = reader ? head.room_seq : head.data_seq;
                if ((reader ? head.write_sleepers : head.read_sleepers).load() != 0)
                    proto::futex_wake(other, INT_MAX);
                if (head.kernel_watch[reader ? 1 : 0].load() != 0) {
                    proto::MsgQueueNotifyRequest req{h->handle, 0};
                    proto::MsgQueueNotifyReply rep{};
                    (void)Connection::instance().call(req, rep);  // no kernel: no waits
                }
                return TRUE;
            }
        }
        if (out != proto::MsgRing::Outcome::wait) return ring_failure(*h, out);
        if (timeout == 0 ||
            !await_change(word, seen, reader ? head.read_sleepers : head.write_sleepers, deadline,
                          head.cpu[reader ? 1 : 0]))
            return fail_with(ERROR_TIMEOUT);
    }
}

BOOL ring_write(std::shared_ptr<RingHandle> h, const void* data, DWORD size, DWORD timeout,
                DWORD flags) {
    if (size > h->ring->ring.max_bytes()) return fail_with(ERROR_INSUFFICIENT_BUFFER);
    if (!ring_call(std::move(h), timeout, false, [&](proto::MsgRing& ring) {
            return ring.write_locked(data, size, flags);
        }))
        return FALSE;
    set_last_error(ERROR_SUCCESS);
    return TRUE;
}

BOOL ring_read(std::shared_ptr<RingHandle> h, void* out, DWORD capacity, DWORD* read,
               DWORD timeout, DWORD* flags) {
    proto::MsgRing::Taken taken;
    if (!ring_call(std::move(h), timeout, true, [&](proto::MsgRing& ring) {
            return ring.read_locked(out, capacity, taken);
        }))
        return FALSE;
    *read = taken.size;
    *flags = taken.flags;
    set_last_error(taken.truncated ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS);
    return TRUE;
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
