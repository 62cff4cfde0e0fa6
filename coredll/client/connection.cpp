#include "coredll/client/connection.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <climits>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "coredll/client/file_cache.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/mutex_word_cache.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
#include "coredll/client/thread_id.h"
#include "coredll/client/window.h"
#include "protocol/futex.h"
#include "protocol/paths.h"
#include "protocol/shared_region.h"

extern char** environ;

namespace cek::coredll {

namespace bip = boost::interprocess;

namespace {

constexpr uint64_t kDeathCheckNs = 10'000'000;  // sleeping callers look at the socket this often
constexpr size_t kFdStashSize = 64;  // received descriptors kept for other threads' calls
constexpr int kAutostartRetries = 50;

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

std::string instance_name() { return env_or("CEK_INSTANCE", "default"); }

bool file_exists(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// Whether this shim runs from the build tree it was built in (tests, examples), rather than
// from an installed copy: only then is the build tree's kernel the one to start. An installed
// libcoredll (a package built in a tree that still exists) starts the installed kernel.
bool running_from_build_tree() {
#ifdef CEK_BUILD_ROOT
    Dl_info info{};
    std::string self;
    if (::dladdr(reinterpret_cast<void*>(&running_from_build_tree), &info) != 0 &&
        info.dli_fname != nullptr && std::strchr(info.dli_fname, '/') != nullptr)
        self = info.dli_fname;  // the shared library, or the program that links the shim
    else
        self = "/proc/self/exe";
    char real[PATH_MAX];
    char root[PATH_MAX];
    if (::realpath(self.c_str(), real) == nullptr || ::realpath(CEK_BUILD_ROOT, root) == nullptr)
        return false;
    return std::string_view(real).starts_with(std::string(root) + "/");
#else
    return false;
#endif
}

std::string kernel_path() {
    if (const char* k = std::getenv("CEK_KERNEL"); k != nullptr && *k != '\0') return k;
#ifdef CEK_BUILD_KERNEL_PATH
    if (running_from_build_tree() && file_exists(CEK_BUILD_KERNEL_PATH)) return CEK_BUILD_KERNEL_PATH;
#endif
#ifdef CEK_INSTALL_KERNEL_PATH
    if (file_exists(CEK_INSTALL_KERNEL_PATH)) return CEK_INSTALL_KERNEL_PATH;
#endif
    return "cekernel";
}

std::string default_root(const std::string& instance) {
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return std::string(home) + "/.local/share/cekernel/" + instance;
    return proto::runtime_dir() + "/" + instance + ".root";
}

// One message of at most `size` bytes with up to `max_fds` descriptors, received with
// MSG_CMSG_CLOEXEC and `flags`: recvmsg's result (0 at end of file, -1 with errno). Descriptors
// beyond `max_fds` are closed; `whole` is false when data, descriptors or the control buffer
// did not fit.
ssize_t receive_with_fds(int sock, void* data, size_t size, int* fds, size_t max_fds,
                         size_t& nfds, int flags, bool& whole) {
    iovec iov{data, size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)]{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
    nfds = 0;
    whole = n >= 0 && (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) == 0;
    if (n < 0) return n;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            if (nfds < max_fds) {
                fds[nfds++] = fd;
            } else {
                ::close(fd);
                whole = false;
            }
        }
    }
    return n;
}

}  // namespace

Connection& Connection::instance() {
    // Never destroyed: applications call the API from exit handlers and static destructors.
    static Connection* connection = [] {
        auto* c = new Connection(instance_name(), false);
        ::pthread_atfork(&Connection::atfork_prepare, &Connection::atfork_parent,
                         &Connection::atfork_child);
        return c;
    }();
    return *connection;
}

Connection::Connection(std::string instance, bool diagnostics)
    : instance_(std::move(instance)), diagnostics_(diagnostics) {
    // Spinning for a reply pays only with another CPU to run the kernel meanwhile. Counted in
    // this process's CPU set rather than online: a container's cpuset limits its kernel too
    // (where sysconf counts the host's CPUs), and it is one system call where sysconf reads a
    // file on every program start.
    cpu_set_t cpus;
    const bool one_cpu = ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) < 2;
    spin_ns_ = one_cpu ? 0 : 20'000;
    if (const char* s = std::getenv("CEK_SPIN_US"); s != nullptr && *s != '\0')
        spin_ns_ = std::strtoull(s, nullptr, 10) * 1000;
}

Connection::~Connection() {
    channel_region_.reset();
    page_region_.reset();
    if (sock_ >= 0) ::close(sock_);
    if (doorbell_ >= 0) ::close(doorbell_);
    if (notice_ >= 0) ::close(notice_);
    for (const ReceivedFd& r : fd_stash_) ::close(r.fd);
}

void Connection::atfork_prepare() {
    begin_fork_deferral();  // a park now would keep every lock below
    instance().connect_mutex_.lock();
    Window::instance().lock().lock();
    FileCache::instance().lock();
    MsgRingCache::instance().lock();
    MutexWordCache::instance().lock();
    instance().fd_mutex_.lock();
    lock_thread_controls();  // the agent takes it when another process stops a thread
}

void Connection::atfork_parent() {
    unlock_thread_controls();
    instance().fd_mutex_.unlock();
    MutexWordCache::instance().unlock();
    MsgRingCache::instance().unlock();
    FileCache::instance().unlock();
    Window::instance().lock().unlock();
    instance().connect_mutex_.unlock();
    end_fork_deferral(false);
}

void Connection::atfork_child() {
    // A new process: no kernel link, no handles, no views (CE gives a child nothing). Its one
    // thread's cached id was reset by thread_id.cpp's own fork handler.
    Connection& c = instance();
    unlock_thread_controls();
    for (const ReceivedFd& r : c.fd_stash_) ::close(r.fd);
    c.fd_stash_.clear();
    c.fd_mutex_.unlock();
    MsgRingCache::instance().reset_after_fork();
    MsgRingCache::instance().unlock();
    MutexWordCache::instance().reset_after_fork();
    MutexWordCache::instance().unlock();
    FileCache::instance().reset_after_fork();
    FileCache::instance().unlock();
    Window::publish_shootdowns(nullptr, -1);
    Window::instance().reset_after_fork();
    Window::instance().lock().unlock();
    if (c.sock_ >= 0) ::close(c.sock_);
    if (c.doorbell_ >= 0) ::close(c.doorbell_);
    if (c.notice_ >= 0) ::close(c.notice_);
    c.sock_ = c.doorbell_ = c.notice_ = -1;
    c.channel_region_.reset();
    c.page_region_.reset();
    c.channel_ = nullptr;
    c.page_ = nullptr;
    c.connected_ = false;
    c.dead_ = false;
    c.revoked_ = false;
    c.failure_ = "not connected";
    c.started_socket_ = -1;  // the parent's, taken or not: this process connects anew
    c.started_program_ = false;
    c.posted_mask_ = 0;  // slots of the parent's channel
    c.connect_mutex_.unlock();
    end_fork_deferral(true);
}

bool Connection::ensure_connected() {
    if (connected_.load(std::memory_order_acquire)) return true;
    if (dead_.load(std::memory_order_acquire)) return false;
    DeferredLock guard(connect_mutex_);
    if (connected_) return true;
    return connect_locked();
}

// A socket connected to `path`, or -1 with `err` set.
static int connect_socket(const std::string& path, int& err) {
    int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        err = errno;
        return -1;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        err = errno;
        ::close(sock);
        return -1;
    }
    return sock;
}

int Connection::open_socket(int& err) {
    int sock = std::exchange(started_socket_, -1);
    const bool started = started_program_;
    if (started && sock < 0) {
        // Its one connection failed: another would be a process its creator does not know.
        err = ENOTCONN;
        failure_ = "the connection the kernel started this program with failed";
        return -1;
    }
    if (!started) {
        if (!proto::valid_instance_name(instance_)) {
            err = EINVAL;
            failure_ = "invalid instance name";
            return -1;
        }
        // Whoever can write in the runtime directory can put a socket there that poses as the
        // kernel and receives every name, path and file this process uses: refuse any
        // directory that is not this user's alone. (A missing one is fine: connect fails,
        // autostart makes it.)
        const std::string dir = proto::runtime_dir();
        std::string why;
        if (int e = proto::check_private_dir(dir, &why); e != 0 && e != ENOENT) {
            err = EACCES;
            failure_ = "runtime directory not private: " + why;
            log().error("refusing to connect: the runtime directory {}", why);
            return -1;
        }
        sock = connect_socket(proto::socket_path(dir, instance_), err);
        if (sock < 0) return -1;
    }
    // The kernel must be this user too (checked by the host, not by what the peer says).
    ucred peer{};
    socklen_t peer_len = sizeof peer;
    const bool unix_socket = ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0;
    // A started program's socket pair was made by the kernel, which is its parent.
    if (unix_socket && started && peer.pid != ::getppid()) {
        err = EACCES;
        failure_ = "descriptor " + std::to_string(sock) + " (" + proto::kStartedSocketEnv +
                   ") is not a connection made by this program's parent";
        log().error("refusing to connect: {}", failure_);
        return -1;
    }
    if (!unix_socket || peer.uid != ::geteuid()) {
        if (!started) ::close(sock);  // a started program's descriptor may be anything: keep it
        err = EACCES;
        failure_ = !unix_socket ? "descriptor " + std::to_string(sock) + " (" +
                                      proto::kStartedSocketEnv + ") is no connected socket"
                                : "the socket's peer is uid " + std::to_string(peer.uid) +
                                      ", not uid " + std::to_string(::geteuid());
        log().error("refusing to connect: {}", failure_);
        return -1;
    }
    // Close-on-exec again (the kernel's dup2 cleared it): what this program runs must not
    // inherit its connection. Only now, so that a descriptor that is no such socket is untouched.
    if (started && ::fcntl(sock, F_SETFD, FD_CLOEXEC) != 0) {
        err = errno;
        ::close(sock);
        return -1;
    }
    if (!started) {
        proto::Hello hello{proto::kMagic, proto::kProtocolVersion,
                           diagnostics_ ? uint32_t{proto::kHelloDiagnostics} : 0u, 0};
        if (::send(sock, &hello, sizeof hello, MSG_NOSIGNAL) != sizeof hello) {
            err = errno;
            ::close(sock);
            return -1;
        }
    }
    // The kernel answers at once (a started program's answer is usually queued already); a
    // hung kernel must not hang us.
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) {
        err = ETIMEDOUT;
        ::close(sock);
        return -1;
    }
    return sock;
}

bool Connection::try_connect(int& err) {
    const bool diagnostics = diagnostics_;
    int sock = open_socket(err);
    if (sock < 0) return false;
    proto::HelloReply reply{};
    int fds[4] = {-1, -1, -1, -1};
    size_t nfds = 0;
    bool whole = false;
    const ssize_t n = receive_with_fds(sock, &reply, sizeof reply, fds, 4, nfds, 0, whole);
    auto give_up = [&](int e, const char* reason) {
        for (size_t i = 0; i < nfds; ++i) ::close(fds[i]);
        ::close(sock);
        err = e;
        failure_ = reason;
        return false;
    };
    // Magic and version first: they lead every version's reply, which may be shorter or longer.
    constexpr auto kLead = static_cast<ssize_t>(offsetof(proto::HelloReply, status));
    if (n < kLead || reply.magic != proto::kMagic)
        return give_up(EPROTO, "bad reply from the kernel");
    hello_ = reply;  // a version mismatch is reported with the kernel's version (cedump)
    // A started program's kernel never saw a hello to check: this side checks (its libcoredll
    // may come from another build than the kernel that started it).
    if (reply.version != proto::kProtocolVersion)
        return give_up(EPROTO, "the kernel speaks another protocol version");
    if (n != static_cast<ssize_t>(sizeof reply)) return give_up(EPROTO, "bad reply from the kernel");
    switch (static_cast<proto::HelloStatus>(reply.status)) {
    case proto::HelloStatus::Ok:
        break;
    case proto::HelloStatus::VersionMismatch:
        return give_up(EPROTO, "the kernel speaks another protocol version");
    case proto::HelloStatus::PermissionDenied:
        return give_up(EACCES, "permission denied by the kernel");
    case proto::HelloStatus::TooManyProcesses:
        return give_up(EAGAIN, "the kernel refused the connection: this process has too many "
                               "connections, or the kernel has no process slot left");
    default:
        return give_up(EAGAIN, "the kernel refused the connection");
    }
    if (nfds != 4) return give_up(EPROTO, "the kernel sent no channel");
    try {
        channel_region_ = std::make_unique<bip::mapped_region>(
            proto::map_shared(fds[0], sizeof(proto::Channel), true));
        page_region_ = std::make_unique<bip::mapped_region>(
            proto::map_shared(fds[1], sizeof(proto::KernelPage), false));
    } catch (const bip::interprocess_exception& e) {
        channel_region_.reset();
        return give_up(ENOMEM, "cannot map the channel");
    }
    ::close(fds[0]);
    ::close(fds[1]);
    channel_ = static_cast<proto::Channel*>(channel_region_->get_address());
    page_ = static_cast<const proto::KernelPage*>(page_region_->get_address());
    doorbell_ = fds[2];
    if (diagnostics) {
        ::close(fds[3]);  // a tool has no threads for others to stop
    } else {
        notice_ = fds[3];  // connected once per process (a fork's child starts without one)
    }
    sock_ = sock;
    if (this == &instance()) Window::publish_shootdowns(&channel_->header.shootdowns, doorbell_);
    if (!diagnostics && !Window::instance().adopt(reply.window_base, reply.window_size))
        log().error("cannot reserve the kernel's window {:#x}+{:#x}: views will fail",
                     reply.window_base, reply.window_size);
    return true;
}

bool Connection::autostart() {
    const std::string& instance = instance_;
    std::string root = env_or("CEK_ROOT", default_root(instance));
    std::string kernel = kernel_path();
    std::vector<std::string> args = {kernel,   "--instance", instance, "--root",
                                     root,     "--idle-exit", "3"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    log().debug("starting a kernel: {} --instance {} --root {}", kernel, instance, root);
    if (::posix_spawnp(&pid, kernel.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
        log().error("cannot start the kernel {}: {}", kernel, std::strerror(errno));
        return false;
    }
    // The launcher exits once the kernel listens (0) or found one already running (3).
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    bool ok = WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 3);
    if (!ok) log().error("the kernel {} failed to start (status {})", kernel, status);
    return ok;
}

bool Connection::connect_locked() {
    int err = 0;
    if (try_connect(err)) {
        connected_.store(true, std::memory_order_release);
        start_watcher();
        return true;
    }
    const char* autostart_env = std::getenv("CEK_AUTOSTART");
    bool may_start =
        !diagnostics_ && !(autostart_env != nullptr && std::strcmp(autostart_env, "0") == 0);
    if ((err == ENOENT || err == ECONNREFUSED) && may_start && autostart()) {
        for (int i = 0; i < kAutostartRetries; ++i) {
            if (try_connect(err)) {
                connected_.store(true, std::memory_order_release);
                start_watcher();
                return true;
            }
            if (err != ENOENT && err != ECONNREFUSED) break;
            ::usleep(2000);  // the socket of a kernel another process just started
        }
    }
    if (err == ENOENT || err == ECONNREFUSED) failure_ = "no kernel is running for this instance";
    log().debug("connect failed: {} ({})", failure_, std::strerror(err));
    return false;
}

int Connection::claim_slot(uint64_t allowed) {
    auto& header = channel_->header;
    for (;;) {
        if (posted_mask_.load(std::memory_order_relaxed) != 0) release_answered_posts();
        uint64_t busy = header.busy_mask.load(std::memory_order_relaxed);
        while ((~busy & allowed) != 0) {
            int index = __builtin_ctzll(~busy & allowed);
            if (header.busy_mask.compare_exchange_weak(busy, busy | (uint64_t{1} << index),
                                                       std::memory_order_acquire))
                return index;
        }
        // Every allowed slot busy: wait for a release.
        uint32_t seq = header.free_seq.load(std::memory_order_acquire);
        header.free_waiters.fetch_add(1, std::memory_order_seq_cst);
        if ((~header.busy_mask.load(std::memory_order_seq_cst) & allowed) == 0)
            proto::futex_wait(header.free_seq, seq, kDeathCheckNs);
        header.free_waiters.fetch_sub(1, std::memory_order_relaxed);
        if (dead_.load(std::memory_order_relaxed)) return -1;
    }
}

void Connection::release_slot(int index) {
    auto& header = channel_->header;
    header.busy_mask.fetch_and(~(uint64_t{1} << index), std::memory_order_release);
    if (header.free_waiters.load(std::memory_order_seq_cst) != 0) {
        header.free_seq.fetch_add(1, std::memory_order_seq_cst);
        // All of them: a waiter for a wait slot cannot use every slot (claim_slot).
        proto::futex_wake(header.free_seq, INT_MAX);
    }
}

void Connection::ring_doorbell() {
    const uint64_t one = 1;
    (void)!::write(doorbell_, &one, sizeof one);
}

bool Connection::kernel_alive() {
    // Only the hang-up counts: readable is a descriptor the kernel sent (KernelFdMessage).
    pollfd p{sock_, POLLRDHUP, 0};
    int n = ::poll(&p, 1, 0);
    return !(n == 1 && (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0);
}

void Connection::mark_dead() {
    if (!dead_.exchange(true)) log().error("the kernel is gone: every call now fails");
}

void Connection::start_watcher() {
    if (diagnostics_) return;  // tools take no descriptors and map no views
    const int sock = sock_;
    const int notice = notice_;
    // Detached: it sleeps until the kernel goes and never touches a Connection that went away
    // (the application's connection is never destroyed).
    std::thread([this, sock, notice] {
        // The socket for POLLRDHUP only: it never reads it, so the descriptors the kernel sends
        // stay queued for take_kernel_fd.
        pollfd p[2] = {{sock, POLLRDHUP, 0}, {notice, POLLIN, 0}};
        for (;;) {
            if (::poll(p, 2, -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            // POLLNVAL: the application closed the socket under us; the connection is gone.
            if ((p[0].revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0) break;
            if ((p[1].revents & (POLLNVAL | POLLERR)) != 0) p[1].fd = -1;  // closed the same way
            if ((p[1].revents & POLLIN) != 0) {
                uint64_t count = 0;
                (void)!::read(notice, &count, sizeof count);
                serve_agent();
            }
        }
        on_kernel_death();
    }).detach();
}

void Connection::serve_agent() {
    // Everything queued, in order: a stop, then the start that ends it.
    for (;;) {
        proto::ThreadRemoteRequest take{proto::kThreadRemoteTake, 0};
        proto::ThreadRemoteReply work{};
        const CallStatus s = call(take, work);
        if (!s.delivered || s.failed) return;  // nothing more, or no kernel
        carry_out(static_cast<ce::ThreadControlOp>(work.op), work.id, work.sequence,
                  work.count);
        if (work.token == 0) continue;
        proto::ThreadRemoteRequest done{proto::kThreadRemoteDone, work.token};
        proto::ThreadRemoteReply ack{};
        (void)call(done, ack);
    }
}

void Connection::on_kernel_death() {
    mark_dead();
    FileCache::instance().revoke();
    Window::instance().revoke();
    revoked_.store(true, std::memory_order_release);
    MsgRingCache::instance().wake_all();  // its sleepers fail now, as every call does
}

// Spinning for the reply pays only while the kernel's loop is running on another CPU: it looked
// at the channels a moment ago, and not from this CPU (which this thread holds). Otherwise the
// spin would only keep the kernel from the CPU it needs, or wait out its wake-up.
bool Connection::kernel_running_elsewhere() const {
    constexpr uint64_t kFreshNs = 10'000;
    const int cpu = ::sched_getcpu();
    if (cpu >= 0 && page_->cpu.load(std::memory_order_relaxed) == static_cast<uint32_t>(cpu))
        return false;
    return proto::monotonic_ns() - page_->awake_ns.load(std::memory_order_relaxed) < kFreshNs;
}

// Where this thread waits for its reply. A kernel that answers it from the same CPU lets go of
// that CPU at once instead of busy-polling for a next request, which cannot come while the
// kernel holds the CPU the caller needs (it was preempted there, or sleeps there).
void Connection::note_cpu(proto::Slot& slot) {
    if (const int cpu = ::sched_getcpu(); cpu >= 0)
        slot.control.client_cpu.store(static_cast<uint32_t>(cpu), std::memory_order_relaxed);
}

bool Connection::wait_reply(proto::Slot& slot, uint32_t seq, bool spin) {
    auto& rep = slot.control.rep_seq;
    if (spin && spin_ns_ != 0) {
        uint64_t start = proto::monotonic_ns();
        uint32_t spins = 0;
        while (rep.load(std::memory_order_acquire) != seq) {
            proto::cpu_relax();
            if ((++spins & 63) == 0 && proto::monotonic_ns() - start > spin_ns_) break;
        }
    }
    uint32_t observed = rep.load(std::memory_order_acquire);
    if (observed == seq) return true;
    note_cpu(slot);
    slot.control.client_waiting.store(1, std::memory_order_seq_cst);
    for (;;) {
        observed = rep.load(std::memory_order_seq_cst);
        if (observed == seq) break;
        if (proto::futex_wait(rep, observed, kDeathCheckNs)) continue;
        if (!kernel_alive()) {
            slot.control.client_waiting.store(0, std::memory_order_relaxed);
            mark_dead();
            return false;
        }
        // Still no answer: ring again if the kernel sleeps, so that no lost wake-up (however
        // it came about) can leave this call waiting.
        if (page_->sleeping.load(std::memory_order_seq_cst) != 0) {
            uint64_t one = 1;
            (void)::write(doorbell_, &one, sizeof one);
        }
    }
    slot.control.client_waiting.store(0, std::memory_order_relaxed);
    return true;
}

CallStatus Connection::call(proto::RequestCode code, const void* body, size_t body_bytes,
                            std::span<const std::byte> extra, void* reply, size_t reply_bytes,
                            std::span<std::byte> data) {
    CallStatus status;
    if (dead_.load(std::memory_order_acquire) || !ensure_connected()) return status;
    size_t total = sizeof(proto::RequestHeader) + body_bytes + extra.size();
    if (total > proto::kRequestBytes) {
        status.delivered = true;
        status.error = Win32Error::ERROR_INVALID_PARAMETER;
        return status;
    }
    uint32_t seq = 0;
    bool kernel_asleep = false;
    const int index = publish(code, body, body_bytes, extra, 0, seq, kernel_asleep);
    if (index < 0) return status;
    proto::Slot& slot = channel_->slots[index];
    // A sleeping kernel's wake-up takes longer than any useful spin, so the caller sleeps at
    // once (spinning would only delay its own wake-up further).
    if (!wait_reply(slot, seq, !kernel_asleep && kernel_running_elsewhere())) {
        // The slot stays claimed: the dead kernel might still have been writing into it.
        return status;
    }
    proto::ReplyHeader rh{};
    std::memcpy(&rh, slot.reply, sizeof rh);
    status.delivered = true;
    status.failed = rh.failed != 0;
    status.set_error = rh.set_error != 0;
    status.error = static_cast<Win32Error>(rh.error);
    if (!status.failed) {
        size_t available = rh.size >= sizeof rh ? rh.size - sizeof rh : 0;
        available = std::min<size_t>(available, proto::kReplyBytes - sizeof rh);
        size_t n = std::min(available, reply_bytes);
        std::memcpy(reply, slot.reply + sizeof rh, n);
        if (n < reply_bytes) std::memset(static_cast<std::byte*>(reply) + n, 0, reply_bytes - n);
        if (!data.empty() && available > reply_bytes) {
            status.data_bytes = std::min(available - reply_bytes, data.size());
            std::memcpy(data.data(), slot.reply + sizeof rh + reply_bytes, status.data_bytes);
        }
    }
    release_slot(index);
    return status;
}

int Connection::publish(proto::RequestCode code, const void* body, size_t body_bytes,
                        std::span<const std::byte> extra, uint32_t flags, uint32_t& seq,
                        bool& asleep) {
    const size_t total = sizeof(proto::RequestHeader) + body_bytes + extra.size();
    // A wait may hold its slot for as long as it waits; the last slot is kept for everything
    // else, so that the thread that would end the waits (SetEvent...) always gets through.
    constexpr uint64_t kWaitSlots = ~uint64_t{0} >> 1;
    // Calls the kernel may park (waits, message-queue reads and writes) stay off the last slot.
    // (A SuspendThread or TerminateThread of another process's thread waits for its agent.)
    const bool may_park = code == proto::RequestCode::WaitObjects ||
                          code == proto::RequestCode::MsgQueueRead ||
                          code == proto::RequestCode::MsgQueueWrite ||
                          code == proto::RequestCode::ThreadControl;
    const int index = claim_slot(may_park ? kWaitSlots : ~uint64_t{0});
    if (index < 0) return -1;
    proto::Slot& slot = channel_->slots[index];
    proto::RequestHeader h{static_cast<uint32_t>(code), static_cast<uint32_t>(total),
                           current_tid(), flags};
    std::memcpy(slot.request, &h, sizeof h);
    std::memcpy(slot.request + sizeof h, body, body_bytes);
    if (!extra.empty()) std::memcpy(slot.request + sizeof h + body_bytes, extra.data(), extra.size());
    seq = slot.control.req_seq.load(std::memory_order_relaxed) + 1;
    note_cpu(slot);
    slot.control.req_seq.store(seq, std::memory_order_release);
    channel_->header.ready_mask.fetch_or(uint64_t{1} << index, std::memory_order_seq_cst);
    // A sleeping kernel needs its doorbell.
    asleep = page_->sleeping.load(std::memory_order_seq_cst) != 0;
    if (asleep) ring_doorbell();
    return index;
}

bool Connection::post(proto::RequestCode code, const void* body, size_t body_bytes) {
    if (dead_.load(std::memory_order_acquire) || !ensure_connected()) return false;
    if (sizeof(proto::RequestHeader) + body_bytes > proto::kRequestBytes) return false;
    uint32_t seq = 0;
    bool asleep = false;
    const int index = publish(code, body, body_bytes, {}, proto::kRequestPosted, seq, asleep);
    if (index < 0) return false;
    // Not released here (the kernel may still be answering): a later claim does it.
    posted_seq_[static_cast<size_t>(index)].store(seq, std::memory_order_relaxed);
    posted_mask_.fetch_or(uint64_t{1} << index, std::memory_order_release);
    return true;
}

void Connection::release_answered_posts() {
    uint64_t posted = posted_mask_.load(std::memory_order_acquire);
    while (posted != 0) {
        const auto index = static_cast<size_t>(__builtin_ctzll(posted));
        const uint64_t bit = uint64_t{1} << index;
        posted &= posted - 1;
        if (channel_->slots[index].control.rep_seq.load(std::memory_order_acquire) !=
            posted_seq_[index].load(std::memory_order_relaxed))
            continue;
        // Whoever clears the bit releases the slot, once.
        if ((posted_mask_.fetch_and(~bit, std::memory_order_acq_rel) & bit) != 0)
            release_slot(static_cast<int>(index));
    }
}

bool Connection::receive_kernel_fd_locked() {
    for (;;) {
        proto::KernelFdMessage m{};
        int fd = -1;
        size_t nfds = 0;
        bool whole = false;
        ssize_t n = receive_with_fds(sock_, &m, sizeof m, &fd, 1, nfds, MSG_DONTWAIT, whole);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) {
            mark_dead();  // the kernel hung up
            errno = ESRCH;
            return false;
        }
        if (n < 0) {
            if (errno == EAGAIN) errno = ENOENT;
            return false;
        }
        // Exactly one descriptor with a whole message, or nothing of it is kept.
        if (n != static_cast<ssize_t>(sizeof m) || nfds != 1 || !whole) {
            if (nfds == 1) ::close(fd);
            log().error("malformed descriptor message from the kernel ({} bytes, {} descriptors)",
                         n, nfds);
            continue;
        }
        if (fd_stash_.size() >= kFdStashSize) {  // for calls that gave up: oldest out
            ::close(fd_stash_.front().fd);
            fd_stash_.pop_front();
        }
        fd_stash_.push_back(ReceivedFd{m, fd});
        return true;
    }
}

int Connection::take_kernel_fd(int kernel_fd, uint64_t dev, uint64_t ino) {
    int fd = -1;
    {
        DeferredLock guard(fd_mutex_);
        // Two threads taking the same object's descriptor get equivalent ones: the identity is
        // enough to match a message to its call. Ours may be in the stash already (another
        // thread read it), else it is in the socket, maybe behind others' messages.
        auto match = [&](const ReceivedFd& r) {
            return r.message.kernel_fd == kernel_fd && r.message.dev == dev &&
                   r.message.ino == ino;
        };
        for (;;) {
            auto it = std::find_if(fd_stash_.begin(), fd_stash_.end(), match);
            if (it != fd_stash_.end()) {
                fd = it->fd;
                fd_stash_.erase(it);
                break;
            }
            if (sock_ < 0 || !receive_kernel_fd_locked()) return -1;
        }
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
        // Not the object the reply described: never use it.
        ::close(fd);
        errno = ESTALE;
        return -1;
    }
    return fd;
}

}  // namespace cek::coredll
