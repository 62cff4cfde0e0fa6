// Shared-memory layouts: the per-process channel and the kernel page, plus the socket hello.
//
// Channel (one memfd per client process, sealed against resizing, writable by that client and
// the kernel only): a header and kSlotCount request slots. A client thread claims a slot, writes
// a request, bumps req_seq and sets its bit in ready_mask; the kernel copies the request out once,
// handles it, writes the reply and stores rep_seq = req_seq, waking the thread with a shared
// futex on rep_seq when client_waiting is set. The kernel never blocks or spins on a word the
// client controls; a client that scribbles here only hurts itself.
//
// Kernel page (one memfd, written by the kernel, mapped read-only by every client): the
// kernel's sleeping flag, read by a client after publishing a request to decide whether to ring
// its doorbell eventfd, and where and when the awake loop last looked at the channels, read to
// decide whether spinning for the reply can pay (docs/decisions/0001-transport.md, "Waking").
#pragma once

#include <signal.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "version.h"

namespace cek::proto {

inline constexpr uint32_t kSlotCount = 64;      // one bit each in a 64-bit mask
inline constexpr uint32_t kRequestBytes = 4096;  // header + body
inline constexpr uint32_t kReplyBytes = 4096;

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

struct alignas(64) SlotControl {
    std::atomic<uint32_t> req_seq;         // client: the sequence of the published request
    std::atomic<uint32_t> rep_seq;         // kernel: the sequence answered; the futex word
    std::atomic<uint32_t> client_waiting;  // client: sleeping on rep_seq, kernel must wake it
    std::atomic<uint32_t> client_cpu;      // client: the CPU it waits for the reply on (a hint)
};

struct Slot {
    SlotControl control;
    alignas(64) std::byte request[kRequestBytes];
    alignas(64) std::byte reply[kReplyBytes];
};

// CE 5's global view (docs/semantics/mappings.md §9): window ranges of dead mappings this
// process mapped by touching their address, which it must make inaccessible before the kernel
// gives them to another mapping. The kernel writes ranges[posted % kShootdownSlots], then
// `posted`, and sends the process shootdown_signal(); the process makes each range PROT_NONE,
// stores `done` = posted and rings its doorbell. Nothing here is trusted by the kernel beyond
// freeing ranges early for that process itself.
inline constexpr uint32_t kShootdownSlots = 32;
inline int shootdown_signal() { return SIGRTMIN + 4; }  // SIGRTMIN + 3 parks threads
struct ShootdownRange {
    uint64_t base;
    uint64_t length;
};
struct alignas(64) Shootdowns {
    std::atomic<uint32_t> posted;  // kernel
    std::atomic<uint32_t> done;    // client
    ShootdownRange ranges[kShootdownSlots];
};

struct alignas(64) ChannelHeader {
    uint32_t magic;
    uint32_t version;
    uint32_t slot_count;
    uint32_t slot_bytes;
    alignas(64) std::atomic<uint64_t> ready_mask;  // client sets bits; kernel takes them
    alignas(64) std::atomic<uint64_t> busy_mask;   // client-private slot allocation
    std::atomic<uint32_t> free_seq;                // client-private: bumped when a slot frees
    std::atomic<uint32_t> free_waiters;
    Shootdowns shootdowns;
};

struct Channel {
    ChannelHeader header;
    Slot slots[kSlotCount];
};

struct alignas(64) KernelPage {
    uint32_t magic;
    uint32_t version;
    int32_t kernel_pid;
    uint32_t reserved;
    alignas(64) std::atomic<uint32_t> sleeping;  // kernel: 1 while parked in epoll_wait
    // Written by the awake loop (at most every 2 µs), on a line of its own so that the flag
    // above stays clean in every client's cache. Hints only: nothing depends on them for
    // correctness.
    alignas(64) std::atomic<uint32_t> cpu;       // kernel: the CPU its loop last ran on
    std::atomic<uint32_t> reserved2;
    std::atomic<uint64_t> awake_ns;              // kernel: monotonic time of its last round
};

// Socket messages (SOCK_SEQPACKET): one each way at connect, then only KernelFdMessages from the
// kernel (a client that writes after its hello is dropped). A program CreateProcessW started
// sends no hello: it finds its end of a connected socket pair at descriptor kStartedSocketFd
// (its environment names it, kStartedSocketEnv) with the HelloReply already queued on it, and
// rings its doorbell once it has read it (HelloReply::thread_id).
struct Hello {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;  // HelloFlags
    uint32_t reserved;  // 0
};
inline constexpr int kStartedSocketFd = 3;
inline constexpr const char* kStartedSocketEnv = "CEK_KERNEL_FD";
enum HelloFlags : uint32_t {
    kHelloDiagnostics = 1,  // cedump: attach without appearing as an application process
};

enum class HelloStatus : uint32_t {
    Ok = 0,
    VersionMismatch = 1,
    PermissionDenied = 2,
    TooManyProcesses = 3,
    InternalError = 4,
};

// Sent with four descriptors (Ok only): channel memfd, kernel page memfd, doorbell eventfd (the
// client rings it), notice eventfd (the kernel rings it: work for the process's agent thread,
// ThreadRemote).
struct HelloReply {
    uint32_t magic;
    uint32_t version;  // the kernel's protocol version (meaningful on VersionMismatch too)
    uint32_t status;   // HelloStatus
    uint32_t process_id;  // the process's CE id (CE 5: its handle value); the kernel's record for tools
    uint64_t window_base;
    uint64_t window_size;
    uint64_t channel_bytes;
    int32_t kernel_pid;
    uint32_t personality;  // 5 for ce5, 6 for ce6
    uint64_t boot_time_ns;  // CLOCK_REALTIME at kernel start
    // A program CreateProcessW started (0 otherwise): its primary thread, as ThreadAttach
    // would answer for it. The program's attach is then one ring of its doorbell, with nothing
    // in its channel: it tells the kernel that the program has loaded.
    uint32_t thread_id;
    uint32_t thread_count;     // its suspend count: 1 when created suspended
    uint32_t thread_sequence;
    uint32_t reserved;
};

// A descriptor the kernel hands the process (docs/decisions/0008-descriptor-passing.md): sent
// with exactly one descriptor (SCM_RIGHTS) before the kernel publishes the reply that names it
// (MapView's first view of a mapping, FileDescriptor with `send_fd`), so a client that sees the
// reply finds the message already queued. `kernel_fd`, `dev` and `ino` repeat the reply's, and
// tell apart the messages of calls that run at the same time.
struct KernelFdMessage {
    int32_t kernel_fd;
    uint32_t reserved;
    uint64_t dev;
    uint64_t ino;
};

// How many descriptor messages the kernel lets queue unread on one client's socket before it
// refuses to send another (the call then fails with ERROR_TOO_MANY_OPEN_FILES): twice what 64
// slots can have outstanding, and a bound on what one client holds of the user's budget of
// descriptors in flight. The kernel measures what the host charges a message at start.
inline constexpr int kMaxQueuedFdMessages = 128;

}  // namespace cek::proto
