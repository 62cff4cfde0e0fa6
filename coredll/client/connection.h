// Connection: this process's link to its kernel. Connects (and auto-starts the kernel) on the
// first call, maps the channel and the kernel page, and performs calls through the slots.
//
// Any thread may call concurrently: each call claims a free slot. A call spins briefly for the
// reply, then sleeps on a shared futex, checking the socket for the kernel's death every few
// milliseconds. When the kernel is gone every call fails with ERROR_SERVICE_NOT_ACTIVE, for
// good: handles and views died with it (as on a CE reboot). An application connection also has
// a watcher thread, asleep on the socket, that notices the kernel's death at once even when no
// call is made and revokes what the process could still reach without the kernel: the file
// descriptors it took (each replaced by one that refuses reads and writes) and its views (made
// read-only), so nothing it does can touch a file that a restarted kernel handed to someone else.
// fork() gives the child a fresh, unconnected state; exec() re-attaches through the new image's
// first call.
//
// Trust: the client talks only to a kernel of its own user. The runtime directory must be a
// directory of this uid with mode 0700, and the socket's listener must be this uid
// (SO_PEERCRED); the kernel's pid comes from the socket, not from what the kernel says.
#pragma once

#include <boost/interprocess/mapped_region.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "protocol/channel.h"
#include "common/errors.h"
#include "protocol/messages.h"

namespace cek::coredll {

// What came back from the kernel, before the API layer turns it into a Win32 result.
struct CallStatus {
    bool delivered = false;  // false: no kernel (error says why)
    bool failed = true;
    bool set_error = true;
    Win32Error error = Win32Error::ERROR_SERVICE_NOT_ACTIVE;
    size_t data_bytes = 0;  // variable data after the reply struct
};

class Connection {
public:
    // The application's connection: instance from CEK_INSTANCE, auto-start allowed.
    static Connection& instance();
    // A connection of its own to `instance` (tools and tests). Diagnostics connections never
    // start a kernel and are not counted as application processes.
    Connection(std::string instance, bool diagnostics);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // One call: `body` (+ `extra`) out, the reply struct into `reply` (+ data into `data`).
    CallStatus call(proto::RequestCode code, const void* body, size_t body_bytes,
                    std::span<const std::byte> extra, void* reply, size_t reply_bytes,
                    std::span<std::byte> data = {});

    template <class Request>
    CallStatus call(const Request& req, typename proto::RequestTraits<Request>::Reply& reply,
                    std::span<const std::byte> extra = {}, std::span<std::byte> data = {}) {
        return call(proto::RequestTraits<Request>::kCode, &req, sizeof req, extra, &reply,
                    sizeof reply, data);
    }

    // Publishes a request and does not wait for its reply: the process's exit code as it ends.
    // The kernel serves it even when the process is gone before it looked
    // (proto::kRequestPosted); its slot is let go once answered, by a later claim. False when
    // it could not be published (no kernel, or a dead one).
    bool post(proto::RequestCode code, const void* body, size_t body_bytes);
    template <class Request>
    bool post(const Request& req) {
        return post(proto::RequestTraits<Request>::kCode, &req, sizeof req);
    }

    // Receives the descriptor a reply named (`kernel_fd`, `dev`, `ino`), which the kernel sent
    // on the socket before that reply (protocol/channel.h, KernelFdMessage), and checks it is
    // the object the kernel described. Never blocks: -1 with errno ENOENT when it is not there,
    // ESTALE when it is not that object, ESRCH when the kernel is gone.
    int take_kernel_fd(int kernel_fd, uint64_t dev, uint64_t ino);

    // True once the kernel is known to be gone (every call fails from then on).
    bool kernel_gone() const { return dead_.load(std::memory_order_relaxed); }
    // True once the watcher has also taken back the files and views a dead kernel granted
    // (on_kernel_death): from then on no write of this process reaches them.
    bool kernel_death_handled() const { return revoked_.load(std::memory_order_acquire); }

    // Connects now if not yet connected. False if there is no kernel.
    bool ensure_connected();
    const proto::HelloReply& hello() const { return hello_; }
    bool connected() const { return connected_.load(std::memory_order_acquire); }
    // A program CreateProcessW started: its connection is the socket the kernel handed it at
    // this descriptor (protocol/channel.h, kStartedSocketFd), with the HelloReply queued. The
    // first connect takes it; no other connect happens then, whatever becomes of it.
    void set_started_socket(int fd) {
        started_socket_ = fd;
        started_program_ = true;
    }
    // Rings the kernel's doorbell with nothing in the channel: a started program's attach.
    void ring_doorbell();
    // Why the last connect failed, for tools: "no kernel", "version mismatch"...
    const char* connect_failure() const { return failure_.c_str(); }

private:
    bool connect_locked();
    bool try_connect(int& err);
    // The socket of a new connection, checked to be the kernel's (same user), hello sent
    // unless it is the started socket; -1 with `err` and failure_ set.
    int open_socket(int& err);
    bool autostart();
    // A free slot among `allowed` (a bit each), waiting for one if need be; -1 if the kernel died.
    int claim_slot(uint64_t allowed);
    void release_slot(int index);
    bool kernel_running_elsewhere() const;
    static void note_cpu(proto::Slot& slot);
    bool wait_reply(proto::Slot& slot, uint32_t seq, bool spin);
    // Writes a request into a free slot and publishes it (ringing a sleeping kernel): the
    // slot's index, its sequence number in `seq` and whether the kernel slept in `asleep`;
    // -1 when no slot could be had (the kernel died).
    int publish(proto::RequestCode code, const void* body, size_t body_bytes,
                std::span<const std::byte> extra, uint32_t flags, uint32_t& seq, bool& asleep);
    // Lets go of the slots of posted requests the kernel has answered.
    void release_answered_posts();
    bool kernel_alive();
    void mark_dead();
    // The watcher thread: sleeps until the kernel's socket hangs up, then revokes. It is also
    // the process's agent: woken through the notice eventfd, it stops and starts this process's
    // threads for other processes' SuspendThread, ResumeThread and TerminateThread.
    void start_watcher();
    void serve_agent();
    void on_kernel_death();
    // One message off the socket into the stash; false when there is none (or the kernel died).
    bool receive_kernel_fd_locked();
    static void atfork_prepare();
    static void atfork_parent();
    static void atfork_child();

    std::string instance_;
    bool diagnostics_;
    int started_socket_ = -1;
    bool started_program_ = false;
    // Slots of posted requests not yet let go, and the sequence number each waits for.
    std::atomic<uint64_t> posted_mask_{0};
    std::array<std::atomic<uint32_t>, proto::kSlotCount> posted_seq_{};
    std::mutex connect_mutex_;
    std::atomic<bool> connected_{false};
    std::atomic<bool> dead_{false};
    std::atomic<bool> revoked_{false};
    int sock_ = -1;
    int doorbell_ = -1;
    int notice_ = -1;
    // Descriptors received for other threads' calls, oldest first (at most kFdStashSize; a
    // call that gave up on its reply leaves its descriptor here, closed when pushed out).
    struct ReceivedFd {
        proto::KernelFdMessage message;
        int fd;
    };
    std::mutex fd_mutex_;
    std::deque<ReceivedFd> fd_stash_;
    std::unique_ptr<boost::interprocess::mapped_region> channel_region_;
    std::unique_ptr<boost::interprocess::mapped_region> page_region_;
    proto::Channel* channel_ = nullptr;
    const proto::KernelPage* page_ = nullptr;
    proto::HelloReply hello_{};
    uint64_t spin_ns_ = 0;
    std::string failure_ = "not connected";
};

}  // namespace cek::coredll
