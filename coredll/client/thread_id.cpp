#include "coredll/client/thread_id.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cek::coredll {

namespace {

// initial-exec: a plain %fs-relative load (the library is linked, not opened late; glibc keeps
// room for a few such bytes even then).
[[gnu::tls_model("initial-exec")]] thread_local uint32_t t_tid = 0;
[[gnu::tls_model("initial-exec")]] thread_local uint32_t t_ce_id = 0;

void forget_in_child() {
    t_tid = 0;
    t_ce_id = 0;  // the child is a process of its own to the kernel
}

// Registered when the library loads, before any thread can have cached an id: a fork child must
// never answer with its parent's thread's id.
[[gnu::constructor]] void register_fork_handler() {
    ::pthread_atfork(nullptr, nullptr, &forget_in_child);
}

}  // namespace

uint32_t current_tid() {
    if (t_tid == 0) t_tid = static_cast<uint32_t>(::syscall(SYS_gettid));
    return t_tid;
}

}  // namespace cek::coredll

namespace cek::coredll {

uint32_t cached_thread_id() { return t_ce_id; }
void set_cached_thread_id(uint32_t id) { t_ce_id = id; }

}  // namespace cek::coredll
