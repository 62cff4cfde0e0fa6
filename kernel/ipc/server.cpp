#include "kernel/ipc/server.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <deque>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "kernel/dispatch/dispatch.h"
#include "kernel/core/memfd.h"
#include "kernel/ipc/spawn.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/log_sink.h"
#include "protocol/futex.h"
#include "protocol/messages.h"
#include "protocol/paths.h"
#include "protocol/shared_region.h"

namespace cek::kernel {

namespace bip = boost::interprocess;

enum class SourceKind : uint8_t { Listen, Signal, Socket, Doorbell, Exit, Background, Child };

struct Server::Source {
    SourceKind kind;
    Client* client;
    Child* child = nullptr;
};

// A host process, as the quotas see it (docs/security.md, "PID namespaces"): every connection
// of one process shares one key, and no later process gets that key, even one that reuses the
// pid while the kernel still holds the old process's records.
struct Server::Host {
    uint32_t key = 0;
    uint64_t identity = 0;  // its entry in Server::hosts_ (0: none, a host of its own)
    int pidfd = -1;         // pid-based identities only: tells a reused pid from the same process
    ~Host() {
        if (pidfd >= 0) ::close(pidfd);
    }
};

// A program CreateProcessW had the kernel start: the kernel is its parent, so it reaps it and
// knows how it ended, through this pidfd (docs/decisions/0011-processes.md).
struct Server::Child {
    int pid = 0;
    int pidfd = -1;
    std::shared_ptr<Host> host;  // its connections' host, kept until it exits
    Source source{SourceKind::Child, nullptr};
    ~Child() {
        if (pidfd >= 0) ::close(pidfd);
    }
};

// Ranges one process may keep out of use by not letting go (besides an eighth of the window).
constexpr size_t kMaxShootdowns = 256;

struct Server::Client {
    int sock = -1;
    int doorbell = -1;
    int notice = -1;  // the kernel rings it: work for the process's agent (ThreadRemote)
    int pidfd = -1;  // readable once the host process has exited (-1 where there is none)
    int pid = 0;     // as SO_PEERCRED gives it: 0 for a peer in a PID namespace we cannot see
    std::shared_ptr<Host> host;
    ProcessId id{};
    bool attached = false;
    bool started = false;  // a program launch() started, connected by a socket pair
    bool loaded = false;   // such a program has rung its doorbell: its creation completed
    bool diagnostics = false;
    bool dead = false;
    Source sock_source{SourceKind::Socket, nullptr};
    Source bell_source{SourceKind::Doorbell, nullptr};
    Source exit_source{SourceKind::Exit, nullptr};
    std::unique_ptr<bip::mapped_region> region;
    proto::Channel* channel = nullptr;
    std::array<uint32_t, proto::kSlotCount> last_seq{};
    uint64_t pending = 0;  // slots whose request (a wait) is answered later
    // Dead mappings' ranges the process must make inaccessible (protocol/channel.h,
    // Shootdowns): posted counts what the kernel wrote (its own count, never read back),
    // acked what the process confirmed; in_flight holds the posted ranges not yet confirmed.
    uint32_t shoot_posted = 0;
    uint32_t shoot_acked = 0;
    std::deque<proto::ShootdownRange> shoot_in_flight;
    std::deque<proto::ShootdownRange> shoot_backlog;  // waiting for room in the ring
    uint64_t shoot_bytes = 0;                         // of both
    // What this client's misbehaviour may make the kernel log: 5 lines, then one a second.
    log::RateLimit complaints{1, 5};
    // At least as many bytes as are unread on the socket: what SIOCOUTQ said at the last look,
    // plus fd_charge_.bound for each descriptor sent since (send_descriptor).
    int unread_bound = 0;
};

namespace {

std::string executable_of(int pid) {
    if (pid <= 0) return "?";  // a peer whose pid this kernel cannot see
    char buf[PATH_MAX];
    std::string link = "/proc/" + std::to_string(pid) + "/exe";
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return "?";
    return std::string(buf, static_cast<size_t>(n));
}

bool send_with_fds(int sock, const void* data, size_t size, const int* fds, size_t nfds) {
    iovec iov{const_cast<void*>(data), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)]{};
    if (nfds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        std::memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    return ::sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(size);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5; Debian 12's headers lack it
#endif
constexpr long kPidfsMagic = 0x50494446;  // pidfds are files of their own (Linux 6.9)

// A descriptor that becomes readable when the connected process exits, or -1. SO_PEERPIDFD
// names the very process that connected, even one in a PID namespace this kernel cannot see
// into (SO_PEERCRED's pid is 0 there). Before Linux 6.5, pidfd_open on the pid, which may
// already name another process if the peer died and its pid was reused: the peer's socket
// still being open says it did not (a peer that died leaves the socket hung up, unless a child
// it forked holds it).
int peer_pidfd(int sock, int pid) {
    int fd = -1;
    socklen_t len = sizeof fd;
    if (::getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
    if (pid <= 0) return -1;
    fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return -1;
    pollfd p{sock, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0) {
        ::close(fd);  // the peer is gone: the pid may be someone else's already
        return -1;
    }
    return fd;
}

// The pidfs inode of a pidfd: one per process, never reused while the host runs (Linux 6.9);
// 0 where pidfds are anonymous inodes.
uint64_t pidfs_inode(int pidfd) {
    struct statfs fs {};
    struct stat st {};
    if (pidfd < 0 || ::fstatfs(pidfd, &fs) != 0 || fs.f_type != kPidfsMagic ||
        ::fstat(pidfd, &st) != 0)
        return 0;
    return st.st_ino;
}

bool exited(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    return pidfd >= 0 && ::poll(&p, 1, 0) == 1;
}

}  // namespace

Server::Server(Kernel& kernel, ServerOptions options)
    : kernel_(kernel), options_(std::move(options)),
      fd_charge_(measure_fd_charge()) {
    // cedump's channel column: read at snapshot time only, never on the request path.
    kernel_.set_channel_probe([this](ProcessId id) { return channel_state(id); });
    kernel_.set_liveness_probe([this](ProcessId id) { return client_alive(id); });
    kernel_.set_launcher([this](const LaunchSpec& spec) { return launch(spec); });
    kernel_.set_killer([this](ProcessId id) { return kill_process(id); });
    kernel_.set_shootdown([this](ProcessId id, uint64_t base, uint64_t length) {
        post_shootdown(id, base, length);
    });
}

namespace {

// The environment of a program the kernel starts: the kernel's own, this instance's (so the
// program's libcoredll finds this kernel and never starts another), then what the kernel adds.
std::vector<std::string> child_environment(const ServerOptions& options,
                                           const std::vector<std::string>& extra) {
    static constexpr std::string_view kOurs[] = {"CEK_INSTANCE=", "CEK_RUNTIME_DIR=",
                                                 "CEK_AUTOSTART=", "CEK_KERNEL_FD=",
                                                 "CEK_IMAGE=", "CEK_CMDLINE="};
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view v(*e);
        bool ours = false;
        for (auto prefix : kOurs) ours = ours || v.rfind(prefix, 0) == 0;
        if (!ours) env.emplace_back(v);
    }
    env.push_back("CEK_INSTANCE=" + options.instance);
    env.push_back("CEK_RUNTIME_DIR=" + options.runtime_dir);
    env.push_back("CEK_AUTOSTART=0");
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

Win32Error spawn_error(int e) {
    switch (e) {
    case EACCES:
    case EPERM:
        return Win32Error::ERROR_ACCESS_DENIED;
    case ENOEXEC:
    case ENOENT:  // the interpreter or loader the image names is missing
    case ELIBBAD:
        return Win32Error::ERROR_BAD_EXE_FORMAT;
    default:
        return Win32Error::ERROR_OUTOFMEMORY;
    }
}

}  // namespace

Result<Launched> Server::launch(const LaunchSpec& spec) {
    // A CE program gets its connection now (decision 0011, "The creator's wait"): one end of a
    // socket pair at kStartedSocketFd, where its shim looks before main. The HelloReply and
    // the channel follow in bind_started(), while the program is still loading.
    int pair[2] = {-1, -1};
    if (spec.connect) {
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
            log::ipc()->warn("no socket pair for {}: {}", spec.argv[0], std::strerror(errno));
            return Win32Error::ERROR_OUTOFMEMORY;
        }
        ::fcntl(pair[0], F_SETFL, O_NONBLOCK);  // the kernel's end, as accept4 gives them
    }
    std::vector<std::string> extra = spec.env;
    if (spec.connect)
        extra.push_back(std::string(proto::kStartedSocketEnv) + "=" +
                        std::to_string(proto::kStartedSocketFd));
    std::vector<std::string> env = child_environment(options_, extra);
    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // The kernel blocks its stop signals (read through signalfd) and ignores SIGPIPE: the
    // program gets an empty mask and default actions (spawn_program).
    const pid_t spawned = spawn_program(argv.data(), envp.data(), pair[1], proto::kStartedSocketFd);
    const int e = spawned < 0 ? -spawned : 0;
    const pid_t pid = spawned < 0 ? 0 : spawned;
    if (pair[1] >= 0) ::close(pair[1]);
    if (e != 0 && pair[0] >= 0) ::close(pair[0]);
    if (e != 0) {
        log::ipc()->debug("cannot start {}: {}", spec.argv[0], std::strerror(e));
        return spawn_error(e);
    }
    auto child = std::make_unique<Child>();
    child->pid = pid;
    child->pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (child->pidfd < 0) {
        // Without a pidfd the kernel could not tell its end: do not let it run unwatched.
        log::ipc()->error("no pidfd for started pid {}: {}", pid, std::strerror(errno));
        if (pair[0] >= 0) ::close(pair[0]);
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return Win32Error::ERROR_OUTOFMEMORY;
    }
    child->host = host_of(pid, child->pidfd);
    child->source.child = child.get();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &child->source;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, child->pidfd, &ev);
    const Launched launched{pid, child->host->key};
    log::ipc()->info("started pid={} {}", pid, spec.argv[0]);
    if (pair[0] >= 0) {
        // Its connection, as accept_clients() would make it, waiting for its process.
        auto client = std::make_unique<Client>();
        client->sock = pair[0];
        client->pid = pid;
        client->started = true;
        client->host = child->host;
        // Its end is the Child's pidfd (on_child_exit), not one of its own: the pidfd here
        // serves liveness checks and signals only.
        client->pidfd = ::fcntl(child->pidfd, F_DUPFD_CLOEXEC, 0);
        client->sock_source.client = client.get();
        client->bell_source.client = client.get();
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = &client->sock_source;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, client->sock, &ev);
        unbound_.push_back(client.get());
        Client* raw = client.get();
        clients_.emplace(raw, std::move(client));
    }
    children_[pid] = std::move(child);
    return launched;
}

void Server::bind_started() {
    const std::vector<Client*> pending = std::exchange(unbound_, {});
    for (Client* c : pending) {
        if (c->dead) continue;
        // Its process was not made (create_process failed), or it cannot have its channel: it
        // must not run without its kernel, and nobody waits for it. It goes; the reap tidies up.
        const std::optional<ProcessId> id = kernel_.child_by_pid(c->pid);
        if (!id) {
            drop_client(*c, "its process was not made");  // which kills it (not loaded)
            continue;
        }
        proto::HelloReply reply{};
        reply.magic = proto::kMagic;
        reply.version = proto::kProtocolVersion;
        (void)open_channel(*c, *id, reply);  // a failure drops it, which kills it
    }
}

bool Server::kill_process(ProcessId id) {
    int pidfd = -1;
    int pid = 0;
    if (auto c = by_process_.find(id.raw); c != by_process_.end()) {
        pidfd = c->second->pidfd;
        pid = c->second->pid;
    }
    // A program the kernel started: its own pidfd (it may have no connection at all).
    if (auto it = children_.find(kernel_.pid_of(id)); it != children_.end())
        pidfd = it->second->pidfd;
    if (pidfd >= 0) return ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
    // No pidfd (an old host): the pid is safe while the connection is open, and it is.
    return pid > 0 && ::kill(pid, SIGKILL) == 0;
}

void Server::post_shootdown(ProcessId id, uint64_t base, uint64_t length) {
    auto it = by_process_.find(id.raw);
    // No channel to post to: the range stays retired until that process has gone.
    if (it == by_process_.end() || it->second->dead || it->second->channel == nullptr) return;
    Client& c = *it->second;
    // A process that does not let go (it blocks the signal) may hold only so much of the window
    // out of use. Past that the range is freed at once: in CE 5 it could touch that range's next
    // mapping anyway; it only misses the fault CE would give it on a dead one.
    const size_t entries = c.shoot_in_flight.size() + c.shoot_backlog.size();
    if (entries >= kMaxShootdowns || c.shoot_bytes + length > kernel_.config().window_size / 8) {
        if (c.complaints.allow(proto::monotonic_ns()))
            log::ipc()->warn("pid={} process={}: {} ranges not let go; the window reuses them",
                             c.pid, c.id.raw, entries);
        kernel_.let_go_range(id, base);
        return;
    }
    c.shoot_backlog.push_back({base, length});
    c.shoot_bytes += length;
    flush_shootdowns(c);
}

void Server::flush_shootdowns(Client& c) {
    proto::Shootdowns& ring = c.channel->header.shootdowns;
    bool posted = false;
    while (!c.shoot_backlog.empty() && c.shoot_posted - c.shoot_acked < proto::kShootdownSlots) {
        ring.ranges[c.shoot_posted % proto::kShootdownSlots] = c.shoot_backlog.front();
        c.shoot_in_flight.push_back(c.shoot_backlog.front());
        c.shoot_backlog.pop_front();
        ++c.shoot_posted;
        posted = true;
    }
    if (!posted) return;
    ring.posted.store(c.shoot_posted, std::memory_order_release);
    const int sig = proto::shootdown_signal();
    const bool sent = c.pidfd >= 0
                          ? ::syscall(SYS_pidfd_send_signal, c.pidfd, sig, nullptr, 0) == 0
                          : c.pid > 0 && ::kill(c.pid, sig) == 0;
    // Unsent (a peer in a PID namespace this kernel cannot see): the process takes the ranges at
    // its next fault anywhere in the window, and they are freed when it ends at the latest.
    if (!sent)
        log::ipc()->debug("pid={}: shootdown signal not sent: {}", c.pid, std::strerror(errno));
}

void Server::check_shootdowns(Client& c) {
    if (c.shoot_posted == c.shoot_acked || c.channel == nullptr) return;
    const uint32_t done = c.channel->header.shootdowns.done.load(std::memory_order_acquire);
    const uint32_t confirmed = done - c.shoot_acked;
    if (confirmed > c.shoot_posted - c.shoot_acked) return;  // not a count we posted: ignored
    for (uint32_t i = 0; i < confirmed; ++i) {
        const proto::ShootdownRange r = c.shoot_in_flight.front();
        c.shoot_in_flight.pop_front();
        c.shoot_bytes -= r.length;
        kernel_.let_go_range(c.id, r.base);
    }
    c.shoot_acked = done;
    flush_shootdowns(c);
}

void Server::on_child_exit(Child& child) {
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(child.pid, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r == 0) return;  // not yet (a spurious wake-up)
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, child.pidfd, nullptr);
    const int pid = child.pid;
    log::ipc()->info("started pid={} ended, status {:#x}", pid, status);
    children_.erase(pid);  // destroys `child`
    if (children_.empty() && app_clients_ == 0) idle_since_ns_ = proto::monotonic_ns();
    // Its connection goes first (the kernel detaches it, with the requests it published before
    // it went, its exit code among them), then the kernel learns the status.
    for (auto& [raw, c] : clients_)
        if (c->started && c->pid == pid && !c->dead) {
            drop_client(*c, "process exited");
            break;
        }
    if (const std::optional<ProcessId> id = kernel_.child_by_pid(pid))
        kernel_.child_exited(*id, status);
}

std::shared_ptr<Server::Host> Server::host_of(int pid, int pidfd) {
    // Who the peer is: its pidfs inode where pidfds have one (never reused), else its pid while
    // the process that first had it has not exited. A peer with neither (a pid we cannot see,
    // no pidfd) is a host of its own.
    uint64_t identity = pidfs_inode(pidfd);
    const bool by_pid = identity == 0 && pid > 0;
    if (by_pid) identity = (uint64_t{1} << 63) | static_cast<uint32_t>(pid);
    if (identity != 0) {
        if (auto it = hosts_.find(identity); it != hosts_.end()) {
            auto host = it->second.lock();
            if (host && !(by_pid && exited(host->pidfd))) return host;
        }
    }
    auto host = std::make_shared<Host>();
    host->key = next_host_++;
    if (next_host_ == 0) next_host_ = 1;
    host->identity = identity;
    if (by_pid && pidfd >= 0) host->pidfd = ::fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
    if (identity != 0) hosts_[identity] = host;  // a reused pid replaces the exited process
    return host;
}

void Server::release_host(Client& c) {
    if (!c.host) return;
    if (c.host.use_count() == 1 && c.host->identity != 0) {
        auto it = hosts_.find(c.host->identity);
        if (it != hosts_.end() && it->second.lock() == c.host) hosts_.erase(it);
    }
    c.host.reset();
}

bool Server::client_alive(ProcessId id) const {
    auto it = by_process_.find(id.raw);
    if (it == by_process_.end() || it->second->dead) return false;
    // One poll, only when a signal is about to be spent on one of this process's waits: the
    // socket hung up, or the process exited while a child it forked still holds the socket.
    const Client& c = *it->second;
    pollfd p[2] = {{c.sock, POLLRDHUP, 0}, {c.pidfd, POLLIN, 0}};
    if (::poll(p, c.pidfd >= 0 ? 2 : 1, 0) == 0) return true;
    return (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR)) == 0 && (p[1].revents & POLLIN) == 0;
}

std::string Server::channel_state(ProcessId id) const {
    for (const Client* c : active_) {
        if (c->id != id) continue;
        // busy_mask is the client's slot allocation: calls in flight (or parked, later).
        uint64_t mask = c->channel->header.busy_mask.load(std::memory_order_relaxed);
        auto busy = __builtin_popcountll(mask);
        return busy == 0 ? "idle" : "busy " + std::to_string(busy);
    }
    return "detached";
}

Server::~Server() {
    kernel_.set_shootdown(nullptr);  // the processes are going; nobody to post to
    kernel_.set_channel_probe(nullptr);
    kernel_.set_liveness_probe(nullptr);
    for (auto& [p, c] : clients_) {
        if (c->attached) kernel_.detach_process(c->id);
        if (c->sock >= 0) ::close(c->sock);
        if (c->doorbell >= 0) ::close(c->doorbell);
        if (c->notice >= 0) ::close(c->notice);
        if (c->pidfd >= 0) ::close(c->pidfd);
    }
    clients_.clear();
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        if (!inherited_listen_) ::unlink(socket_path_.c_str());
    }
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (page_fd_ >= 0) ::close(page_fd_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // drops the instance lock last
}

Result<void> Server::start() {
    if (int e = proto::ensure_runtime_dir(options_.runtime_dir); e != 0) {
        log::kernel()->error("runtime directory {} unusable: {}", options_.runtime_dir,
                             std::strerror(e));
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    // One kernel per instance: a record lock, dropped by the host when this process dies, so
    // holding it proves any earlier kernel is gone and its socket may be replaced.
    std::string lock = proto::lock_path(options_.runtime_dir, options_.instance);
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return Win32Error::ERROR_ACCESS_DENIED;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(lock_fd_, F_SETLK, &fl) != 0) {
        log::kernel()->info("instance {} already has a kernel", options_.instance);
        return Win32Error::ERROR_ALREADY_EXISTS;
    }

    socket_path_ = proto::socket_path(options_.runtime_dir, options_.instance);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof addr.sun_path) {
        log::kernel()->error("socket path too long: {}", socket_path_);
        return Win32Error::ERROR_FILENAME_EXCED_RANGE;
    }
    std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (options_.inherited_listen_fd >= 0) {
        // Socket activation: the socket is already bound and listening at socket_path_.
        listen_fd_ = options_.inherited_listen_fd;
        inherited_listen_ = true;
        ::fcntl(listen_fd_, F_SETFD, FD_CLOEXEC);
        ::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    } else {
        ::unlink(socket_path_.c_str());  // a dead kernel's socket (we hold the lock)
        listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        mode_t old_mask = ::umask(0077);  // owner-only socket
        int bound = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        ::umask(old_mask);
        if (bound != 0 || ::listen(listen_fd_, 128) != 0) {
            log::kernel()->error("cannot listen on {}: {}", socket_path_, std::strerror(errno));
            return Win32Error::ERROR_ACCESS_DENIED;
        }
    }

    page_fd_ = make_memfd("cek-kernel-page", sizeof(proto::KernelPage), 0);
    if (page_fd_ < 0) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    try {
        page_region_ = std::make_unique<bip::mapped_region>(
            proto::map_shared(page_fd_, sizeof(proto::KernelPage), true));
    } catch (const bip::interprocess_exception& e) {
        log::kernel()->error("cannot map the kernel page: {}", e.what());
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    // Every client gets this descriptor, and what the page says decides whether they ring their
    // doorbells. Once the kernel's own mapping exists, the page is sealed against any further
    // writable mapping or write(2), so no client can make it lie to the others.
    if (::fcntl(page_fd_, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0) {
        log::kernel()->error("cannot seal the kernel page: {}", std::strerror(errno));
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    page_ = new (page_region_->get_address()) proto::KernelPage{};
    page_->magic = proto::kMagic;
    page_->version = proto::kProtocolVersion;
    page_->kernel_pid = ::getpid();

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    listen_source_ = std::make_unique<Source>(Source{SourceKind::Listen, nullptr});
    signal_source_ = std::make_unique<Source>(Source{SourceKind::Signal, nullptr});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = listen_source_.get();
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.ptr = signal_source_.get();
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev);
    if (const int fd = kernel_.background_fd(); fd >= 0) {  // wakes the loop for run_background
        background_source_ = std::make_unique<Source>(Source{SourceKind::Background, nullptr});
        ev.data.ptr = background_source_.get();
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }

    if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) options_.spin_us = 0;  // spinning on one CPU only steals it
    idle_since_ns_ = proto::monotonic_ns();
    log::kernel()->info("kernel ready instance={} pid={} socket={}{}", options_.instance,
                        ::getpid(), socket_path_, inherited_listen_ ? " (socket activation)" : "");
    return {};
}

void Server::shed_connection() {
    // Out of descriptors: the pending connection would keep the listening socket readable and
    // the loop spinning. Spend the reserve descriptor to accept it and hang up at once (the
    // client's connect fails cleanly), then take the reserve back.
    log::ipc()->error("out of descriptors: refusing a connection");
    if (reserve_fd_ < 0) reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (reserve_fd_ >= 0) {
        ::close(reserve_fd_);
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) ::close(fd);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && reserve_fd_ >= 0) return;
    }
    // No descriptor at all (the system ran out, and another process took the one we freed):
    // stop watching the listening socket until a client leaves and gives one back.
    epoll_event ev{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    listen_paused_ = true;
}

void Server::accept_clients() {
    for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) shed_connection();
            return;
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            ::close(fd);
            continue;
        }
        auto client = std::make_unique<Client>();
        client->sock = fd;
        client->pid = cred.pid;
        client->sock_source.client = client.get();
        client->bell_source.client = client.get();
        client->exit_source.client = client.get();
        if (cred.uid != ::geteuid()) {
            // Defence in depth: the socket and its directory are owner-only already.
            proto::HelloReply reply{};
            reply.magic = proto::kMagic;
            reply.version = proto::kProtocolVersion;
            reply.status = static_cast<uint32_t>(proto::HelloStatus::PermissionDenied);
            send_with_fds(fd, &reply, sizeof reply, nullptr, 0);
            // Its hello may be queued already, and closing over unread data resets the
            // connection (ECONNRESET) before it reads the refusal: take no more, drop what came.
            ::shutdown(fd, SHUT_RD);
            char sink[sizeof(proto::Hello)];
            while (::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
            }
            log::ipc()->warn("refused pid={} uid={}: not the kernel's user", cred.pid, cred.uid);
            ::close(fd);
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = &client->sock_source;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
        // The socket alone does not tell when the process dies: a child it made with a raw
        // fork (no atfork handler closing the socket) keeps the socket open. Its pidfd does.
        client->pidfd = peer_pidfd(fd, cred.pid);
        client->host = host_of(cred.pid, client->pidfd);
        if (client->pidfd >= 0) {
            ev.events = EPOLLIN;
            ev.data.ptr = &client->exit_source;
            ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, client->pidfd, &ev);
        }
        Client* raw = client.get();
        clients_.emplace(raw, std::move(client));
    }
}

void Server::on_client_readable(Client& c) {
    if (c.dead) return;
    if (c.attached || c.started) {
        // After the hello the client sends nothing (descriptors go only the other way):
        // readable means gone, or misbehaving.
        char byte;
        ssize_t n = ::recv(c.sock, &byte, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            drop_client(c, "disconnected");
        else if (n > 0)
            drop_client(c, "unexpected data on the socket");
        return;
    }
    finish_hello(c);
}

void Server::finish_hello(Client& c) {
    proto::Hello hello{};
    ssize_t n = ::recv(c.sock, &hello, sizeof hello, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) return;
    proto::HelloReply reply{};
    reply.magic = proto::kMagic;
    reply.version = proto::kProtocolVersion;
    if (n != static_cast<ssize_t>(sizeof hello) || hello.magic != proto::kMagic) {
        drop_client(c, "bad hello");
        return;
    }
    if (hello.version != proto::kProtocolVersion) {
        reply.status = static_cast<uint32_t>(proto::HelloStatus::VersionMismatch);
        send_with_fds(c.sock, &reply, sizeof reply, nullptr, 0);
        drop_client(c, "protocol version mismatch");
        return;
    }
    auto fail = [&](proto::HelloStatus status, const char* why) {
        reply.status = static_cast<uint32_t>(status);
        send_with_fds(c.sock, &reply, sizeof reply, nullptr, 0);
        drop_client(c, why);
    };
    c.diagnostics = (hello.flags & proto::kHelloDiagnostics) != 0;
    auto attached =
        kernel_.attach_process(c.pid, executable_of(c.pid), c.diagnostics, c.host->key);
    if (!attached) return fail(proto::HelloStatus::TooManyProcesses, "cannot attach");
    (void)open_channel(c, attached.value(), reply);
}

bool Server::open_channel(Client& c, ProcessId id, proto::HelloReply& reply) {
    // Every failure detaches the process again (drop_client), so none is left behind.
    c.id = id;
    c.attached = true;
    by_process_[c.id.raw] = &c;
    if (!c.diagnostics) {
        ++app_clients_;
        idle_since_ns_ = 0;
    }
    auto fail = [&](const char* why) {
        reply.status = static_cast<uint32_t>(proto::HelloStatus::InternalError);
        send_with_fds(c.sock, &reply, sizeof reply, nullptr, 0);
        drop_client(c, why);
        return false;
    };
    int channel_fd = make_memfd("cek-channel", sizeof(proto::Channel), F_SEAL_SEAL);
    if (channel_fd < 0) return fail("no memory for a channel");
    try {
        c.region = std::make_unique<bip::mapped_region>(
            proto::map_shared(channel_fd, sizeof(proto::Channel), true));
    } catch (const bip::interprocess_exception& e) {
        ::close(channel_fd);
        return fail("cannot map a channel");
    }
    // Only the header is written: the slots are the memfd's zeroes, so an idle client's channel
    // costs the kernel one page, not half a megabyte.
    c.channel = static_cast<proto::Channel*>(c.region->get_address());
    new (&c.channel->header) proto::ChannelHeader{};
    c.channel->header.magic = proto::kMagic;
    c.channel->header.version = proto::kProtocolVersion;
    c.channel->header.slot_count = proto::kSlotCount;
    c.channel->header.slot_bytes = sizeof(proto::Slot);
    c.doorbell = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c.notice = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c.doorbell < 0 || c.notice < 0) {
        ::close(channel_fd);
        return fail("no descriptor for a doorbell");
    }

    reply.status = static_cast<uint32_t>(proto::HelloStatus::Ok);
    // An application's id is its process handle value (CE 5); a tool's, its kernel record.
    reply.process_id = c.diagnostics ? c.id.raw : kernel_.process_id(c.id);
    reply.window_base = kernel_.config().window_base;
    reply.window_size = kernel_.config().window_size;
    reply.channel_bytes = sizeof(proto::Channel);
    reply.kernel_pid = ::getpid();
    reply.personality = kernel_.config().personality;
    if (c.started) {
        auto primary = kernel_.primary_thread_state(id);
        if (!primary) {
            ::close(channel_fd);
            return fail("its primary thread is gone");
        }
        reply.thread_id = primary.value().id;
        reply.thread_count = primary.value().count;
        reply.thread_sequence = primary.value().sequence;
    }
    // The doorbell is watched before the client can ring it: a started program may ring and
    // be gone before this loop looks again. Edge-triggered, so that each ring wakes the loop
    // once without a read to empty the counter (a system call less per sleeping round trip);
    // the counter cannot overflow in practice (2^64 - 2 rings).
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = &c.bell_source;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.doorbell, &ev);
    active_.push_back(&c);
    int fds[4] = {channel_fd, page_fd_, c.doorbell, c.notice};
    bool sent = send_with_fds(c.sock, &reply, sizeof reply, fds, 4);
    ::close(channel_fd);  // the client has its own reference now; we keep the mapping
    if (!sent) {
        drop_client(c, "hello reply not delivered");
        return false;
    }
    kernel_.agent_ready(c.id);  // it has its notice eventfd: other processes may stop its threads
    log::ipc()->info("attached pid={} process={}{}", c.pid, c.id.raw,
                     c.diagnostics ? " (diagnostics)" : "");
    return true;
}

void Server::drop_client(Client& c, const char* why) {
    if (c.dead) return;
    drain_channel(c);
    // A started program that goes before it loaded must not run on without its kernel (its
    // shim refused the connection, or closed it): it is killed, and its creator's call fails
    // at the reap.
    if (c.started && !c.loaded)
        if (auto child = children_.find(c.pid); child != children_.end())
            (void)::syscall(SYS_pidfd_send_signal, child->second->pidfd, SIGKILL, nullptr, 0);
    c.dead = true;
    std::erase(unbound_, &c);
    if (c.attached) {
        log::ipc()->info("detaching pid={} process={}: {}", c.pid, c.id.raw, why);
        kernel_.detach_process(c.id);
        by_process_.erase(c.id.raw);
        c.attached = false;
        std::erase(active_, &c);
        if (!c.diagnostics && --app_clients_ == 0) idle_since_ns_ = proto::monotonic_ns();
    } else {
        log::ipc()->debug("dropping connection pid={}: {}", c.pid, why);
    }
    // Its descriptors and channel go in reap(), once this round's events are handled.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.sock, nullptr);
    if (c.doorbell >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.doorbell, nullptr);
    if (c.pidfd >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.pidfd, nullptr);
    dead_.push_back(&c);
}

void Server::reap() {
    if (dead_.empty()) return;
    for (Client* c : dead_) {
        // The socket is closed last: once a client's socket is gone from the kernel, so is
        // everything else of it (its channel mapping, its doorbell).
        c->channel = nullptr;
        c->region.reset();
        if (c->doorbell >= 0) ::close(c->doorbell);
        if (c->notice >= 0) ::close(c->notice);
        if (c->pidfd >= 0) ::close(c->pidfd);
        ::close(c->sock);
        release_host(*c);
        clients_.erase(c);
    }
    dead_.clear();
    if (listen_paused_) {  // descriptors came back: new connections are looked at again
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = listen_source_.get();
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        listen_paused_ = false;
    }
}

namespace {

// How long a busy loop may go without looking at its sockets and signals.
constexpr uint64_t kEventCheckNs = 1'000'000;

// Background work per loop round, between two looks at the channels, when the kernel steps
// copies itself (no copy thread): 0 is one step (a chunk of a copy), so that a neighbour's
// request waits for at most one chunk.
constexpr uint64_t kBackgroundBudgetNs = 0;

// A pending call's tag: its slot and the sequence it was published with.
uint64_t slot_tag(uint32_t index, uint32_t seq) { return (uint64_t{seq} << 32) | index; }

}  // namespace

void Server::publish_reply(Client& c, uint32_t index, uint32_t seq, size_t bytes) {
    proto::Slot& slot = c.channel->slots[index];
    std::memcpy(slot.reply, reply_buffer_.data(), bytes);
    slot.control.rep_seq.store(seq, std::memory_order_seq_cst);
    if (slot.control.client_waiting.load(std::memory_order_seq_cst) != 0)
        proto::futex_wake(slot.control.rep_seq, INT_MAX);
    // The caller waits on this CPU (asleep, or preempted by this loop): it runs only once the
    // loop lets go of it, so spinning for its next request cannot pay.
    if (slot.control.client_cpu.load(std::memory_order_relaxed) == cpu_) yield_cpu_ = true;
}

void Server::deliver_completions() {
    for (const WaitCompletion& done : kernel_.take_completions()) {
        auto it = by_process_.find(done.process.raw);
        if (it == by_process_.end()) continue;
        Client& c = *it->second;
        auto index = static_cast<uint32_t>(done.tag & (proto::kSlotCount - 1));
        auto seq = static_cast<uint32_t>(done.tag >> 32);
        const uint64_t bit = uint64_t{1} << index;
        // The slot must still hold that very call (a client may not reuse a pending slot, but
        // a broken one might: then the wait was cancelled and this is stale).
        if ((c.pending & bit) == 0 || c.last_seq[index] != seq) continue;
        c.pending &= ~bit;
        publish_reply(c, index, seq, encode_completion(done, reply_buffer_));
    }
}

void Server::serve_slot(Client& c, uint32_t index) {
    proto::Slot& slot = c.channel->slots[index];
    uint32_t seq = slot.control.req_seq.load(std::memory_order_acquire);
    if (seq == c.last_seq[index]) return;  // spurious bit: nothing new in this slot
    const uint64_t bit = uint64_t{1} << index;
    if ((c.pending & bit) != 0) {
        // A new request over one still pending: only a broken client does this. The old
        // wait is withdrawn so that it can never answer into the new call.
        if (c.complaints.allow(proto::monotonic_ns()))
            log::ipc()->warn("pid={} reused slot {} with a call pending ({} more not logged)",
                             c.pid, index, c.complaints.take_refused());
        kernel_.cancel_wait(c.id, slot_tag(index, c.last_seq[index]));
        c.pending &= ~bit;
    }
    c.last_seq[index] = seq;
    // Copy the request out exactly once; only the copy is ever looked at. The length read
    // here only bounds the copy: the dispatcher re-reads it from the copy and checks it.
    uint32_t size = 0;
    std::memcpy(&size, slot.request + offsetof(proto::RequestHeader, size), sizeof size);
    size = std::clamp<uint32_t>(size, sizeof(proto::RequestHeader), proto::kRequestBytes);
    std::memcpy(request_copy_.data(), slot.request, size);
    Attachment attachment;
    size_t n = decode_and_dispatch(kernel_, c.id, std::span(request_copy_.data(), size),
                                   reply_buffer_, slot_tag(index, seq), &attachment);
    if (n == 0) {
        c.pending |= bit;  // answered by deliver_completions()
        return;
    }
    // The descriptor goes first: a client that sees the reply finds it already in its socket.
    if (attachment.fd >= 0 && !send_descriptor(c, attachment)) {
        if (attachment.undo_view != 0) kernel_.undo_view(c.id, attachment.undo_view);
        n = encode_failure(Win32Error::ERROR_TOO_MANY_OPEN_FILES, reply_buffer_);
        // The trace shows what the caller gets, not the handler's success.
        if (kernel_.diagnostics().tracing()) {
            proto::RequestHeader h{};
            std::memcpy(&h, request_copy_.data(), sizeof h);
            kernel_.diagnostics().fail_last(
                c.id, h.thread_id, static_cast<uint32_t>(Win32Error::ERROR_TOO_MANY_OPEN_FILES));
        }
    }
    publish_reply(c, index, seq, n);
}

// What one KernelFdMessage adds to a socket's SIOCOUTQ on this host: Linux charges the buffer's
// true size (768 bytes on x86-64 kernels of 2025, more with other configurations), so it is
// measured once, on a socket pair of the clients' kind; a quarter more bounds one message, and
// the cap is kMaxQueuedFdMessages of them. 2,048 bytes a message when it cannot be measured.
Server::FdCharge Server::measure_fd_charge() {
    int queued = 0;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0) {
        const proto::KernelFdMessage m{pair[0], 0, 0, 0};
        if (!send_with_fds(pair[0], &m, sizeof m, &pair[0], 1) ||
            ::ioctl(pair[0], SIOCOUTQ, &queued) != 0)
            queued = 0;
        ::close(pair[0]);
        ::close(pair[1]);
    }
    if (queued <= 0) {
        log::ipc()->warn("cannot measure what a descriptor message costs a socket; assuming 2 KiB");
        queued = 2048;
    }
    return {queued + queued / 4, proto::kMaxQueuedFdMessages * queued};
}

bool Server::send_descriptor(Client& c, const Attachment& a) {
    // Never block on a client that does not read, and never let one client hold more than its
    // share of the user's descriptors in flight: refuse once kMaxQueuedFdMessages are
    // unread. The socket is asked (SIOCOUTQ) only when the bound of what may be unread gets
    // there: a client that reads its descriptors costs one ioctl per hundred or so.
    const char* why = nullptr;
    if (c.unread_bound > fd_charge_.cap - fd_charge_.bound) {
        int queued = 0;
        if (::ioctl(c.sock, SIOCOUTQ, &queued) != 0)
            why = std::strerror(errno);
        else if (queued >= fd_charge_.cap)
            why = "too many unread on its socket";
        else
            c.unread_bound = queued;
    }
    if (why == nullptr) {
        const proto::KernelFdMessage m{a.fd, 0, a.dev, a.ino};
        if (send_with_fds(c.sock, &m, sizeof m, &a.fd, 1)) {
            c.unread_bound += fd_charge_.bound;
            return true;
        }
        why = std::strerror(errno);
    }
    if (c.complaints.allow(proto::monotonic_ns()))
        log::ipc()->warn("pid={} process={}: descriptor not sent ({}); the call fails "
                         "({} more not logged)",
                         c.pid, c.id.raw, why, c.complaints.take_refused());
    return false;
}

void Server::drain_channel(Client& c) {
    if (!c.attached || c.channel == nullptr) return;
    // A started program's ring can be the last thing it did: it loaded.
    if (c.started && !c.loaded && c.doorbell >= 0) {
        uint64_t rung = 0;
        if (::read(c.doorbell, &rung, sizeof rung) == sizeof rung) note_loaded(c);
    }
    // Only what nobody waits for (kRequestPosted: the exit code). Any other call of a process
    // that is gone is dropped unserved, as if it had died a moment earlier: serving it would
    // take a signal, a message or a thread from the living for nobody.
    uint64_t bits = c.channel->header.ready_mask.exchange(0, std::memory_order_seq_cst);
    while (bits != 0) {
        const auto index = static_cast<uint32_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        proto::RequestHeader h{};
        std::memcpy(&h, c.channel->slots[index].request, sizeof h);
        if ((h.flags & proto::kRequestPosted) != 0) serve_slot(c, index);
    }
}

void Server::note_loaded(Client& c) {
    if (!c.started || c.loaded || !c.attached) return;
    c.loaded = true;
    kernel_.program_loaded(c.id);
}

bool Server::poll_channels() {
    bool worked = false;
    // Index loop: a request never adds or removes clients (only socket events do).
    for (size_t i = 0; i < active_.size(); ++i) {
        Client& c = *active_[i];
        auto& ready = c.channel->header.ready_mask;
        if (ready.load(std::memory_order_relaxed) == 0) continue;
        uint64_t bits = ready.exchange(0, std::memory_order_seq_cst);
        while (bits != 0) {
            auto index = static_cast<uint32_t>(__builtin_ctzll(bits));
            bits &= bits - 1;
            serve_slot(c, index);
            worked = true;
        }
    }
    if (!unbound_.empty()) bind_started();  // CreateProcessW made their processes
    if (kernel_.has_completions()) deliver_completions();
    if (kernel_.has_pokes()) deliver_pokes();
    return worked;
}

void Server::deliver_pokes() {
    for (ProcessId id : kernel_.take_pokes()) {
        auto it = by_process_.find(id.raw);
        if (it == by_process_.end() || it->second->notice < 0) continue;
        const uint64_t one = 1;
        // Non-blocking; a full counter is still readable, which is all the agent needs.
        (void)!::write(it->second->notice, &one, sizeof one);
    }
}

int Server::wait_timeout_ms() {
    auto deadline = kernel_.next_wait_deadline();
    if (!deadline) return -1;
    uint64_t now = proto::monotonic_ns();
    if (now >= *deadline) {
        kernel_.expire_waits(now);
        deliver_completions();
        deadline = kernel_.next_wait_deadline();
        if (!deadline) return -1;
    }
    // Rounded up: waking a little late is right, early would only spin.
    return static_cast<int>(std::min<uint64_t>((*deadline - now + 999'999) / 1'000'000, INT_MAX));
}

int Server::idle_timeout_ms() const {
    // A program the kernel started keeps it up, connected or not (a script's CE programs
    // connect later, and never start a kernel of their own).
    if (options_.idle_exit_seconds < 0 || idle_since_ns_ == 0 || !children_.empty()) return -1;
    uint64_t deadline = idle_since_ns_ + uint64_t(options_.idle_exit_seconds) * 1'000'000'000ULL;
    uint64_t now = proto::monotonic_ns();
    if (now >= deadline) return 0;
    return static_cast<int>((deadline - now) / 1'000'000ULL) + 1;
}

// A spin pays when the next request comes while it lasts: the client was running on another
// CPU. On a busy machine it rarely does (the client waits for a CPU, or for this one), and the
// spin only delays the others, so after a run of misses the loop sleeps at once and probes one
// spin in 16 to see whether things changed. A hit earns two credits, a miss costs one.
bool Server::spin_worthwhile() {
    if (spin_credit_ > 0) return true;
    return (++spin_skips_ & 15) == 0;
}

void Server::note_spin(bool paid) {
    if (paid) {
        spin_credit_ = std::min(spin_credit_ + 2, kSpinCreditMax);
        spin_skips_ = 0;
    } else if (spin_credit_ > 0) {
        --spin_credit_;
    }
}

void Server::stamp(uint64_t now) {
    // Every client reads this line once per call: a spinning loop rewrites it every 2 µs at
    // most, which keeps it fresh (clients allow 10 µs) without bouncing it on every round.
    if (now - stamped_ns_ < 2'000) return;
    stamped_ns_ = now;
    page_->awake_ns.store(now, std::memory_order_relaxed);
    const int cpu = ::sched_getcpu();
    if (cpu < 0) return;
    cpu_ = static_cast<uint32_t>(cpu);
    if (page_->cpu.load(std::memory_order_relaxed) != cpu_)
        page_->cpu.store(cpu_, std::memory_order_relaxed);
}

int Server::run() {
    const uint64_t spin_ns = uint64_t{options_.spin_us} * 1000;
    uint64_t last_work = proto::monotonic_ns();
    uint64_t last_events = last_work;
    bool spinning = false;  // busy-polling for a next request since the last one
    epoll_event events[64];
    while (!stop_) {
        if (kernel_.pending_waits() != 0) {
            (void)wait_timeout_ms();  // expires due waits
            kernel_.publish_mutex_words();
        }
        bool worked = poll_channels();
        const bool background = kernel_.has_background_work();
        if (background) {  // e.g. a large CopyFileW, a chunk at a time
            kernel_.run_background(kBackgroundBudgetNs);
            if (kernel_.has_completions()) deliver_completions();
            worked = true;
        }
        // Connections, hang-ups and signals get a look at least every kEventCheckNs however
        // busy the channels (or background work) keep the loop, so nothing delays them by more.
        const uint64_t now = proto::monotonic_ns();
        stamp(now);
        const bool check_events = now - last_events >= kEventCheckNs;
        if (worked) {
            if (spinning) note_spin(true);
            spinning = false;
            last_work = now;
            if (!check_events) continue;
        } else if (!check_events && !yield_cpu_ && now - last_work < spin_ns &&
                   (spinning || spin_worthwhile())) {
            spinning = true;
            proto::cpu_relax();
            continue;
        }
        int timeout = 0;
        if (!worked && !check_events) {
            if (spinning) note_spin(false);  // it ran out: nothing came while it lasted
            spinning = false;
            page_->sleeping.store(1, std::memory_order_seq_cst);
            if (poll_channels()) {  // a request published before it saw the flag
                page_->sleeping.store(0, std::memory_order_relaxed);
                last_work = proto::monotonic_ns();
                continue;
            }
            timeout = idle_timeout_ms();
            int waits = wait_timeout_ms();
            kernel_.publish_mutex_words();  // waits that just ended
            if (waits >= 0 && (timeout < 0 || waits < timeout)) timeout = waits;
        }
        int n = ::epoll_wait(epoll_fd_, events, 64, timeout);
        page_->sleeping.store(0, std::memory_order_relaxed);
        yield_cpu_ = false;
        last_events = proto::monotonic_ns();
        for (int i = 0; i < n; ++i) {
            auto* src = static_cast<Source*>(events[i].data.ptr);
            switch (src->kind) {
            case SourceKind::Listen:
                accept_clients();
                break;
            case SourceKind::Signal: {
                signalfd_siginfo si{};
                while (::read(signal_fd_, &si, sizeof si) == sizeof si) {
                    log::kernel()->info("signal {}: stopping", si.ssi_signo);
                    stop_ = true;
                }
                break;
            }
            case SourceKind::Socket:
                if ((events[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) != 0 &&
                    src->client->attached)
                    drop_client(*src->client, "disconnected");
                else
                    on_client_readable(*src->client);
                break;
            case SourceKind::Exit:
                drop_client(*src->client, "process exited");
                break;
            case SourceKind::Doorbell: {
                Client& c = *src->client;  // edge-triggered: nothing to read
                note_loaded(c);  // a started program's first ring: its shim has loaded
                check_shootdowns(c);  // a process confirms them by ringing
                break;
            }
            case SourceKind::Background:
                break;  // the next round's run_background() collects it (and empties the fd)
            case SourceKind::Child:
                on_child_exit(*src->child);
                break;
            }
        }
        if (kernel_.has_completions()) deliver_completions();  // e.g. mutexes a death abandoned
        reap();
        kernel_.publish_mutex_words();  // waits that ended, deaths: mutexes back to their words
        if (n > 0) last_work = proto::monotonic_ns();
        if (n == 0 && timeout == 0 && idle_timeout_ms() == 0) {
            log::kernel()->info("no clients for {} s: exiting", options_.idle_exit_seconds);
            break;
        }
    }
    return 0;
}

}  // namespace cek::kernel
