// Server: the kernel's event loop. It owns the listening socket, one channel per client process
// and the doorbells, and feeds requests to decode_and_dispatch on the single kernel thread.
//
// Wake-ups: after work the loop keeps polling the channels for a short, time-bounded spin
// (a reply followed by the next request costs no sleep) while such spins have been paying and
// no caller it answered waits on its own CPU; then it publishes `sleeping` in the kernel page,
// checks once more, and parks in epoll_wait on sockets, doorbells and signals. It stamps its CPU
// and the time in the page, so that clients spin for replies only while it runs on another CPU.
// See docs/architecture.md and docs/decisions/0001-transport.md.
#pragma once

#include <boost/interprocess/mapped_region.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/core/ids.h"
#include "protocol/channel.h"
#include "common/result.h"

namespace cek::kernel {

class Kernel;
struct LaunchSpec;
struct Launched;
struct Attachment;

struct ServerOptions {
    std::string instance;
    std::string runtime_dir;
    int idle_exit_seconds = -1;  // < 0: never exit for idleness
    uint32_t spin_us = 30;       // busy-poll budget after the last request (0 on one CPU)
    // A listening socket handed over by socket activation (systemd's LISTEN_FDS), already
    // checked to be the instance's (kernel/activation.h); -1: the kernel binds its own. An
    // inherited socket is not unlinked at exit: it belongs to whoever made it.
    int inherited_listen_fd = -1;
};

class Server {
public:
    Server(Kernel& kernel, ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Takes the instance lock, binds the socket and prepares the loop.
    // ERROR_ALREADY_EXISTS when another kernel holds the instance.
    Result<void> start();
    // Runs until SIGTERM/SIGINT or the idle timeout. Returns the process exit status.
    int run();

private:
    struct Client;
    struct Source;
    struct Host;
    struct Child;

    // CreateProcessW's host half (Kernel::set_launcher): starts the program with the kernel's
    // environment and this instance's, watches its pidfd; and TerminateProcess's (set_killer).
    Result<Launched> launch(const LaunchSpec& spec);
    bool kill_process(ProcessId id);
    // CE 5's global view: a dead mapping's range `id` touched goes to its channel's
    // Shootdowns ring (and a signal); its confirmation frees the range for that process.
    void post_shootdown(ProcessId id, uint64_t base, uint64_t length);
    void flush_shootdowns(Client& c);
    void check_shootdowns(Client& c);
    // A program the kernel started has exited: reaps it, detaches its connection, tells the
    // kernel its status.
    void on_child_exit(Child& child);

    // The host process of a new connection (pid from SO_PEERCRED, its pidfd or -1): the one
    // its other connections have, or a new one.
    std::shared_ptr<Host> host_of(int pid, int pidfd);
    // Lets go of a reaped client's host, forgetting it with its last connection.
    void release_host(Client& c);

    void accept_clients();
    // accept() failed for want of descriptors: refuse one pending connection.
    void shed_connection();
    void on_client_readable(Client& c);
    // Serves the requests the client posted before it went (proto::kRequestPosted: its exit
    // code), and takes a started program's last ring; drop_client does it before the detach.
    void drain_channel(Client& c);
    // A started program rang its doorbell: it has loaded, and its creator's call completes.
    void note_loaded(Client& c);
    void finish_hello(Client& c);
    // Gives client `c`, attached as process `id`, its channel, doorbell and notice in the
    // HelloReply (`reply` holds magic and version); false, the client dropped, on failure.
    bool open_channel(Client& c, ProcessId id, proto::HelloReply& reply);
    // Connects the programs launch() started to the processes create_process made for them.
    void bind_started();
    void drop_client(Client& c, const char* why);
    bool poll_channels();
    // Whether the loop should busy-poll after its last request, from how the recent spins
    // went (docs/decisions/0001-transport.md, "Waking"); note_spin records one.
    bool spin_worthwhile();
    void note_spin(bool paid);
    // Tells clients where and when the awake loop last looked at the channels.
    void stamp(uint64_t now);
    void serve_slot(Client& c, uint32_t index);
    void publish_reply(Client& c, uint32_t index, uint32_t seq, size_t bytes);
    // Sends the descriptor a reply names on the client's socket (KernelFdMessage); false, and
    // logged, when its unread messages are past the cap or the send fails.
    bool send_descriptor(Client& c, const Attachment& a);
    // Answers the waits the kernel completed since the last call.
    void deliver_completions();
    // Rings the notice eventfd of each process whose agent has thread controls to take.
    void deliver_pokes();
    // Expires due waits; then the milliseconds until the next deadline, or -1 for none.
    int wait_timeout_ms();
    void reap();
    int idle_timeout_ms() const;
    std::string channel_state(ProcessId id) const;
    // False once the process's socket has hung up (read or not).
    bool client_alive(ProcessId id) const;

    Kernel& kernel_;
    ServerOptions options_;
    // Unread bytes on a client's socket (send_descriptor): the most one descriptor message may
    // add, and what kMaxQueuedFdMessages add up to, from what this host charges one message.
    struct FdCharge {
        int bound;
        int cap;
    };
    static FdCharge measure_fd_charge();
    FdCharge fd_charge_;
    int lock_fd_ = -1;
    int listen_fd_ = -1;
    bool inherited_listen_ = false;  // options_.inherited_listen_fd: never unlinked here
    int epoll_fd_ = -1;
    int signal_fd_ = -1;
    int reserve_fd_ = -1;  // spent to refuse a connection when descriptors run out
    bool listen_paused_ = false;  // not even the reserve: the listening socket is not watched
    int page_fd_ = -1;
    std::unique_ptr<boost::interprocess::mapped_region> page_region_;
    proto::KernelPage* page_ = nullptr;
    std::string socket_path_;
    std::unique_ptr<Source> listen_source_;
    std::unique_ptr<Source> signal_source_;
    std::unique_ptr<Source> background_source_;  // finished background work (Kernel)
    std::unordered_map<Client*, std::unique_ptr<Client>> clients_;
    std::vector<Client*> active_;  // clients with a channel, polled each round
    std::vector<Client*> unbound_;  // started programs' connections, before bind_started()
    std::unordered_map<uint32_t, Client*> by_process_;  // attached clients by ProcessId
    std::unordered_map<int, std::unique_ptr<Child>> children_;  // started programs by pid
    std::unordered_map<uint64_t, std::weak_ptr<Host>> hosts_;  // by identity (host_of)
    uint32_t next_host_ = 1;
    std::vector<Client*> dead_;    // dropped this round, freed by reap()
    uint32_t cpu_ = UINT32_MAX;   // the CPU the loop last ran on (stamp)
    uint64_t stamped_ns_ = 0;     // when stamp() last wrote the kernel page
    bool yield_cpu_ = false;      // a client woken on cpu_ waits for it: sleep, do not spin
    uint32_t spin_credit_ = kSpinCreditMax;  // spins that paid lately, less those that did not
    uint32_t spin_skips_ = 0;                // spins skipped in a row (every 16th probes)
    static constexpr uint32_t kSpinCreditMax = 8;
    uint64_t idle_since_ns_ = 0;   // when the last application client left (0: has clients)
    size_t app_clients_ = 0;
    bool stop_ = false;
    std::array<std::byte, proto::kRequestBytes> request_copy_{};
    std::array<std::byte, proto::kReplyBytes> reply_buffer_{};
};

}  // namespace cek::kernel
