// Threads: CreateThread, ExitThread, TerminateThread, GetExitCodeThread, SuspendThread,
// ResumeThread, priorities and quanta, GetCurrentThreadId, Sleep(INFINITE). Rules:
// docs/semantics/threads.md; design: docs/decisions/0010-threads.md.
//
// A CE thread is a detached pthread. The kernel holds the thread object (id: CE 5 the handle
// value, CE 6 a value of its own; exit code, suspend count, priority); the shim runs the host
// thread and parks it while the kernel's count is above 0 (client/thread_park.h). Priorities are kept and reported exactly; the host
// scheduler is not changed (an unprivileged process could not raise a thread back).
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <memory>

#include "coredll/api/api.h"
#include "coredll/client/thread_id.h"
#include "coredll/client/thread_park.h"
#include "protocol/futex.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

constexpr DWORD kFailed = 0xFFFFFFFF;
constexpr DWORD kReservationGranule = 64 * 1024;

struct StartBlock {
    LPTHREAD_START_ROUTINE start;
    LPVOID parameter;
    uint32_t id;  // the thread's CE id (CE 5: its handle value)
    std::shared_ptr<ThreadControl> control;
};

// A pthread the shim adopted (not made by CreateThread): told to the kernel when it ends.
pthread_key_t g_adopted_key;
void adopted_thread_ended(void* handle);
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
void make_key() { pthread_key_create(&g_adopted_key, &adopted_thread_ended); }

// The calling thread's control block, made and bound on first need.
ThreadControl& bind_control(uint32_t handle, uint32_t sequence, uint32_t count) {
    ThreadControl* c = current_control();
    if (c == nullptr || c->handle != handle) {
        auto made = make_thread_control(handle, 0);
        made->tid.store(current_tid(), std::memory_order_release);
        set_current_control(made.get());
        c = made.get();
    }
    apply_suspend_count(*c, sequence, count);
    return *c;
}

// The calling thread learns its CE id from a reply about itself.
ThreadControl& know_self(uint32_t handle, uint32_t sequence, uint32_t count) {
    if (cached_thread_id() != handle) {
        set_cached_thread_id(handle);
        if (current_control() == nullptr && ::getpid() != static_cast<pid_t>(current_tid())) {
            // A pthread the shim did not make: its end is told to the kernel by the key.
            pthread_once(&g_key_once, &make_key);
            pthread_setspecific(g_adopted_key, reinterpret_cast<void*>(uintptr_t{handle}));
        }
    }
    return bind_control(handle, sequence, count);
}

// The calling thread's CE id, asked of the kernel once (adopting the thread if it is new).
uint32_t attach_current() {
    proto::ThreadAttachRequest req{0, 0};
    proto::ThreadAttachReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return 0;
    know_self(rep.handle, rep.sequence, rep.count);
    return rep.handle;
}

// Tells the kernel the calling thread is gone and lets go of its control block.
void leave(DWORD code) {
    // What the thread wrote is seen by whoever waits on its handle (the handle value is its id).
    if (const DWORD self = cached_thread_id(); self != 0) released(handle_from_wire(self));
    proto::ThreadExitRequest req{code, 0};
    proto::ThreadExitReply rep{};
    (void)Connection::instance().call(req, rep);
    if (ThreadControl* c = current_control()) {
        const uint32_t handle = c->handle;
        mark_exited(*c);
        set_current_control(nullptr);
        forget_thread_control(handle);
    }
    set_cached_thread_id(0);
}

void adopted_thread_ended(void*) { leave(0); }

// What a new thread runs once its start block is used up.
struct Entry {
    LPTHREAD_START_ROUTINE start;
    LPVOID parameter;
};

// Binds the new thread to its CE id and control block, attaches it, and parks it while it is
// held (CREATE_SUSPENDED, or a suspend or terminate before it ran: nothing of its code runs
// until then). Takes the start block.
__attribute__((noinline)) Entry begin_thread(StartBlock* raw) {
    std::unique_ptr<StartBlock> block(raw);
    set_cached_thread_id(block->id);
    ThreadControl& c = *block->control;
    c.tid.store(current_tid(), std::memory_order_release);
    set_current_control(&c);
    proto::ThreadAttachRequest req{block->id, 0};
    proto::ThreadAttachReply rep{};
    if (finish(Connection::instance().call(req, rep))) apply_suspend_count(c, rep.sequence, rep.count);
    park_current(c);
    return {block->start, block->parameter};
}

// No object with a destructor lives across the thread function's call, so this frame needs
// no cleanup when ExitThread's pthread_exit unwinds it. That unwind runs in the host's unwinder
// (libgcc_s), which cannot run the cleanups of the shim's own C++ runtime (decision 0012).
void* thread_main(void* arg) {
    const Entry entry = begin_thread(static_cast<StartBlock*>(arg));
    leave(entry.start(entry.parameter));
    return nullptr;
}


bool control_call(HANDLE h, proto::ThreadControlOp op, DWORD code,
                  proto::ThreadControlReply& rep) {
    proto::ThreadControlRequest req{handle_to_wire(h), static_cast<uint32_t>(op), code, 0};
    return finish(Connection::instance().call(req, rep));
}

bool query(HANDLE h, uint32_t op, uint32_t value, uint32_t& out) {
    proto::ThreadQueryRequest req{handle_to_wire(h), op, value, 0};
    proto::ThreadQueryReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return false;
    out = rep.value;
    return true;
}

// A get: the value, or `failed` (the last error set by the kernel).
template <class T>
T get_or(HANDLE h, proto::ThreadOp o, T failed) {
    uint32_t v = 0;
    return query(h, static_cast<uint32_t>(o), 0, v) ? static_cast<T>(v) : failed;
}

BOOL set(HANDLE h, proto::ThreadOp o, uint32_t value) {
    uint32_t v = 0;
    return query(h, static_cast<uint32_t>(o), value, v) ? TRUE : FALSE;
}

}  // namespace

void cek::coredll::attach_primary_thread() {
    // The kernel made this thread with the process and told its state in the hello reply; the
    // program's attach is one ring of its doorbell, which nobody answers (decision 0011).
    Connection& connection = Connection::instance();
    const proto::HelloReply& hello = connection.hello();
    if (hello.thread_id == 0) return;
    ThreadControl* c = &know_self(hello.thread_id, hello.thread_sequence, hello.thread_count);
    connection.ring_doorbell();
    if ((c->word.load(std::memory_order_acquire) & kCountMask) == 0) return;
    // CREATE_SUSPENDED: nothing of the program runs until its creator, another process, resumes
    // this thread; the thread waits for that in the kernel (the creator cannot reach its word).
    proto::ThreadControlRequest req{proto::kCurrentThreadHandle,
                                    static_cast<uint32_t>(proto::ThreadControlOp::AwaitResume), 0,
                                    0};
    proto::ThreadControlReply rep{};
    if (finish(Connection::instance().call(req, rep))) apply_suspend_count(*c, rep.sequence, 0);
    park_current(*c);  // a suspend that came later, from this process
}

extern "C" {

DWORD WINAPI GetCurrentThreadId(void) {
    // Cached per thread: critical sections ask for it on every enter and leave.
    if (uint32_t id = cached_thread_id(); id != 0) return id;
    if (uint32_t id = attach_current(); id != 0) return id;
    return static_cast<DWORD>(current_tid());  // no kernel to be had
}

HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES /*ignored*/, DWORD cbStack,
                           LPTHREAD_START_ROUTINE lpStartAddr, LPVOID lpvThreadParam,
                           DWORD fdwCreate, LPDWORD lpIDThread) {
    if (lpStartAddr == nullptr && ce6_rules()) {
        set_last_error(ERROR_INVALID_PARAMETER);  // CE 6; CE 5 lets the thread fault
        return nullptr;
    }
    proto::ThreadCreateRequest req{fdwCreate, cbStack};
    proto::ThreadCreateReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return nullptr;
    const uint32_t handle = rep.handle;
    const uint32_t id = rep.id;  // CE 5: the handle value
    // Count 1 with sequence 0 is what the kernel holds for CREATE_SUSPENDED.
    auto control = make_thread_control(id, (fdwCreate & CREATE_SUSPENDED) != 0 ? 1u : 0u);
    auto* block = new StartBlock{lpStartAddr, lpvThreadParam, id, control};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if ((fdwCreate & STACK_SIZE_PARAM_IS_A_RESERVATION) != 0) {
        size_t size = (size_t{cbStack} + kReservationGranule - 1) / kReservationGranule *
                      kReservationGranule;
        pthread_attr_setstacksize(&attr, size);
    }
    pthread_t thread;
    const int err = pthread_create(&thread, &attr, &thread_main, block);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        delete block;
        forget_thread_control(id);
        proto::ThreadControlReply dead{};
        (void)control_call(handle_from_wire(handle), proto::ThreadControlOp::Terminate, 0, dead);
        (void)CloseHandle(handle_from_wire(handle));
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return nullptr;
    }
    if (lpIDThread != nullptr) *lpIDThread = id;
    return handle_from_wire(handle);
}

void WINAPI ExitThread(DWORD dwExitCode) {
    // CE: the process ends when its primary thread does, with that thread's code. (No object
    // with a destructor here either: pthread_exit unwinds this frame; see thread_main.)
    if (static_cast<pid_t>(current_tid()) == ::getpid()) ExitProcess(dwExitCode);
    leave(dwExitCode);
    pthread_exit(nullptr);
}

BOOL WINAPI TerminateThread(HANDLE hThread, DWORD dwExitCode) {
    proto::ThreadControlReply rep{};
    if (!control_call(hThread, proto::ThreadControlOp::Terminate, dwExitCode, rep)) return FALSE;
    if ((rep.flags & proto::kThreadIsCaller) != 0) {
        // CE 5: terminating oneself reports FALSE, ERROR_INVALID_PARAMETER; the thread still
        // dies (there is no one to report to).
        leave(dwExitCode);
        pthread_exit(nullptr);
    }
    stop_terminated(rep.handle);  // another process's: its agent did (ThreadRemote)
    return TRUE;
}

BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode) {
    if (lpExitCode == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    uint32_t code = 0;
    if (!query(hThread, proto::kThreadExitCode, 0, code)) return FALSE;
    if (code != STILL_ACTIVE) acquired(hThread);  // the thread has ended: its writes are seen
    *lpExitCode = code;
    if (ce6_rules()) set_last_error(ERROR_SUCCESS);  // CE 6 clears it; CE 5 leaves it
    return TRUE;
}

DWORD WINAPI SuspendThread(HANDLE hThread) {
    proto::ThreadControlReply rep{};
    if (!control_call(hThread, proto::ThreadControlOp::Suspend, 0, rep)) return kFailed;
    if ((rep.flags & proto::kThreadIsCaller) != 0) {
        park_current(know_self(rep.handle, rep.sequence, rep.count));
    } else if (auto c = thread_control(rep.handle)) {
        apply_suspend_count(*c, rep.sequence, rep.count);
        stop_thread(*c, rep.sequence);
    }
    return rep.previous;
}

DWORD WINAPI ResumeThread(HANDLE hThread) {
    proto::ThreadControlReply rep{};
    if (!control_call(hThread, proto::ThreadControlOp::Resume, 0, rep)) return kFailed;
    if (auto c = thread_control(rep.handle)) apply_suspend_count(*c, rep.sequence, rep.count);
    return rep.previous;
}

int WINAPI GetThreadPriority(HANDLE hThread) {
    return get_or(hThread, proto::ThreadOp::GetPriority, THREAD_PRIORITY_ERROR_RETURN);
}

BOOL WINAPI SetThreadPriority(HANDLE hThread, int nPriority) {
    return set(hThread, proto::ThreadOp::SetPriority, static_cast<uint32_t>(nPriority));
}

int WINAPI CeGetThreadPriority(HANDLE hThread) {
    return get_or(hThread, proto::ThreadOp::CeGetPriority, THREAD_PRIORITY_ERROR_RETURN);
}

BOOL WINAPI CeSetThreadPriority(HANDLE hThread, int nPriority) {
    return set(hThread, proto::ThreadOp::CeSetPriority, static_cast<uint32_t>(nPriority));
}

DWORD WINAPI CeGetThreadQuantum(HANDLE hThread) {
    return get_or(hThread, proto::ThreadOp::GetQuantum, kFailed);
}

BOOL WINAPI CeSetThreadQuantum(HANDLE hThread, DWORD dwTime) {
    return set(hThread, proto::ThreadOp::SetQuantum, dwTime);
}

}  // extern "C"

namespace cek::coredll {

// Sleep(INFINITE) (time.cpp): CE 5 makes it a self-suspend, which ResumeThread ends.
void sleep_forever() {
    (void)GetCurrentThreadId();  // the thread needs its control block
    for (;;) {
        DWORD previous = SuspendThread(GetCurrentThread());
        if (previous != kFailed) return;
        ::pause();  // no kernel: sleep as before
    }
}

}  // namespace cek::coredll
