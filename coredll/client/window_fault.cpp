// CE 5's global view, the client's half (docs/semantics/mappings.md §9): in CE 5 every thread
// carries the kernel's key, so any process reads and writes any live mapping by address without
// mapping a view. Here a process has page-table entries only for what it mapped, so a touch of
// any other address of the window faults; this SIGSEGV handler asks the kernel which mapping
// lives there (WindowTouch), maps that mapping's range as a first view would, and returns, so
// the access runs again and succeeds. Where the kernel names no mapping, or the access faults
// again on what is now mapped (a write to a read-only mapping), the fault goes on to whatever
// handled SIGSEGV before (a sanitizer's or the application's handler) or ends the process as it
// would have without us.
//
// When a mapping the process touched dies, the kernel posts its range to the channel's
// Shootdowns ring and sends shootdown_signal(); on_shootdown returns the range to the
// reservation, so the next access faults as CE's would, and tells the kernel, which may then
// give the range to another mapping.
//
// Why taking locks here is safe: only synchronous faults (si_code > 0) in the window are served,
// so the handler runs on the faulting thread at the faulting instruction, which is application
// code or the shim copying the application's data. The shim never touches application memory
// while it holds the window lock, the descriptor lock or the connect lock, and calls claim their
// slot without a lock, so a call from here cannot deadlock with the code it interrupted.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>

#include "coredll/client/connection.h"
#include "coredll/client/thread_park.h"
#include "coredll/client/window.h"

namespace cek::coredll {

namespace {

struct sigaction g_previous {};

// The last fault this thread served, and the window's generation just after: the same address
// faulting again with nothing remapped since is a real fault, not a touch.
thread_local uint64_t t_last_address = 0;
thread_local uint64_t t_last_generation = 0;

// Asks the kernel for the mapping whose range holds `address` and maps it here. Window lock held.
bool map_touched_locked(Window& window, Connection& kernel, uint64_t address) {
    const uint64_t shots = window.shots();
    proto::WindowTouchRequest req{address};
    proto::WindowTouchReply rep{};
    CallStatus status = kernel.call(req, rep);
    if (!status.delivered || status.failed) return false;
    const int fd = kernel.take_kernel_fd(rep.kernel_fd, rep.dev, rep.ino);
    Window::Range range{rep.map_base,
                        rep.map_length,
                        (rep.flags & proto::kViewWritable) != 0,
                        (rep.flags & proto::kViewFileBacked) != 0,
                        rep.dev,
                        rep.ino,
                        true};
    bool mapped = fd >= 0 && rep.map_base <= address && address - rep.map_base < rep.map_length &&
                  window.map(range, fd);
    if (fd >= 0) ::close(fd);
    // The mapping died after the kernel answered and this process already let go of its range,
    // which may be another mapping's now: what was just mapped is stale.
    if (mapped && window.shot_since(shots, range.base)) {
        window.release(range.base, range.length);
        mapped = false;
    }
    return mapped;
}

// The kernel connection to ask, or null when there is none to ask.
Connection* kernel_to_ask() {
    Connection& kernel = Connection::instance();
    if (kernel.kernel_gone() || !kernel.ensure_connected()) return nullptr;
    return &kernel;
}

void drain_shootdowns();

// The fault handler's part: true when the access should run again.
bool serve_fault(uint64_t address) {
    Window& window = Window::instance();
    if (!window.contains(address)) return false;
    drain_shootdowns();  // ranges posted without a signal that arrived (it could not be sent)
    Connection* kernel = kernel_to_ask();
    if (kernel == nullptr) return false;
    DeferredLock guard(window.lock());
    if (address == t_last_address && window.generation() == t_last_generation) return false;
    t_last_address = address;
    t_last_generation = window.generation();
    Window::Range here;
    // Mapped already: another thread served this range since the fault, so run it once more
    // (if it faults again, it is the protection: the generation will not have moved).
    if (window.mapped_here(address, here)) return true;
    const bool mapped = map_touched_locked(window, *kernel, address);
    t_last_generation = window.generation();
    return mapped;
}

// The channel's Shootdowns ring and doorbell, published by the connection.
std::atomic<proto::Shootdowns*> g_ring{nullptr};
std::atomic<int> g_doorbell{-1};
std::atomic<bool> g_shooting{false};

// The kernel's shootdown signal (and any fault in the window): dead mappings' ranges this
// process touched go back to the reservation. Asynchronous, so it takes no lock:
// Window::shoot_down only mmaps and records. One thread at a time does the work; a thread that
// finds it taken leaves it to that one, which looks again after letting go, so no posted range
// is left behind.
void drain_shootdowns() {
    proto::Shootdowns* ring = g_ring.load(std::memory_order_acquire);
    if (ring == nullptr || ring->posted.load(std::memory_order_acquire) ==
                               ring->done.load(std::memory_order_acquire))
        return;
    while (!g_shooting.exchange(true, std::memory_order_acquire)) {
        Window::instance().shoot_down(*ring);
        g_shooting.store(false, std::memory_order_release);
        if (ring->posted.load(std::memory_order_acquire) ==
            ring->done.load(std::memory_order_acquire))
            break;
    }
    const int bell = g_doorbell.load(std::memory_order_acquire);
    if (bell >= 0) {
        const uint64_t one = 1;
        (void)!::write(bell, &one, sizeof one);  // the kernel frees the ranges once it looks
    }
}

void on_shootdown(int) {
    const int saved_errno = errno;
    drain_shootdowns();
    errno = saved_errno;
}

void pass_on(int sig, siginfo_t* info, void* context) {
    if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
        g_previous.sa_sigaction(sig, info, context);
        return;
    }
    if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
        (g_previous.sa_flags & SA_SIGINFO) == 0) {
        g_previous.sa_handler(sig);
        return;
    }
    // The default action: the access faults once more and the process ends of it.
    ::signal(sig, SIG_DFL);
}

void on_fault(int sig, siginfo_t* info, void* context) {
    const int saved_errno = errno;
    const bool served = info != nullptr && info->si_code > 0 &&
                        serve_fault(reinterpret_cast<uintptr_t>(info->si_addr));
    errno = saved_errno;
    if (!served) pass_on(sig, info, context);
}

}  // namespace

bool Window::touch(uint64_t address) {
    if (!contains(address)) return false;
    Connection* kernel = kernel_to_ask();
    if (kernel == nullptr) return false;
    DeferredLock guard(lock());
    Range here;
    return !mapped_here(address, here) && map_touched_locked(*this, *kernel, address);
}

void Window::install_fault_handler() {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGSEGV, &sa, &g_previous);
    struct sigaction shoot {};
    shoot.sa_handler = on_shootdown;
    shoot.sa_flags = SA_RESTART;
    sigemptyset(&shoot.sa_mask);
    ::sigaction(proto::shootdown_signal(), &shoot, nullptr);
}

void Window::publish_shootdowns(proto::Shootdowns* ring, int doorbell) {
    g_doorbell.store(doorbell, std::memory_order_release);
    g_ring.store(ring, std::memory_order_release);
}

}  // namespace cek::coredll
