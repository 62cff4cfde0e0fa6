// Threads: CreateThread's kernel half, thread identity (CE 5: the id is the handle value; CE 6:
// the kernel's own entry with bit 0 clear, HandleTable::id_of),
// exit and exit codes, suspend counts, TerminateThread, priorities and quanta.
// Rules: ce-kernel-objects.md §1.4, §2; docs/semantics/threads.md; design:
// docs/decisions/0010-threads.md.
//
// The kernel keeps the CE state; the host thread is a pthread of the application, stopped and
// started by the shim as the suspend count says (the replies carry the count and its sequence).
#include <vector>

#include "kernel/kernel_impl.h"
#include "kernel/log.h"

namespace cek::kernel {

namespace {

using ce::kCreateSuspended;
constexpr uint32_t kStackSizeIsReservation = ce::kStackSizeParamIsAReservation;
constexpr uint32_t kPriorityLevels = 8;        // THREAD_PRIORITY_TIME_CRITICAL .. IDLE
constexpr uint32_t kFirstMappedPriority = 248;  // TIME_CRITICAL's CE level (default map)
constexpr uint32_t kCePriorities = 256;

}  // namespace

Result<Ref<ThreadObject>> Kernel::add_thread(Process& p, uint32_t tid, bool created,
                                             uint32_t suspend_count, HandleValue* creator) {
    auto thread = make_ref<ThreadObject>(p.id, tid, created, suspend_count);
    // The thread's own handle is the kernel's (no CloseHandle of the process can drop it): it
    // keeps the id valid while the thread runs. A created thread also has the creator's handle,
    // charged to its quota (CE 5: one entry, the creator's plus the kernel's reference; CE 6:
    // an entry in each table).
    CEK_TRY(HandleValue handle, insert_handle(thread, created ? p.id : kKernelProcess, 0));
    HandleValue own = handle;
    if (created) {
        auto kernels = handles_.open(thread, kKernelProcess, 0);
        if (!kernels) {
            release(handle, p.id);
            return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
        }
        own = kernels.value();
    }
    thread->set_handle(own);
    p.threads.emplace(own.raw, thread);
    if (tid != 0) p.thread_by_tid[tid] = own.raw;
    if (creator != nullptr) *creator = handle;
    return thread;
}

Result<ThreadObject*> Kernel::current_thread(ThreadRef caller) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (auto it = p->thread_by_tid.find(caller.tid); it != p->thread_by_tid.end())
        if (auto t = p->threads.find(it->second); t != p->threads.end()) return t->second.get();
    // A thread CreateThread did not make (the main thread, a pthread): adopted on first need.
    CEK_TRY(Ref<ThreadObject> adopted, add_thread(*p, caller.tid, false, 0));
    log::thread()->debug("thread adopted process={} tid={} id={:#x}", p->id.raw, caller.tid,
                         handles_.id_of(adopted->handle()));
    return adopted.get();
}

Result<ThreadObject*> Kernel::thread_for(ThreadRef caller, HandleValue handle) {
    if (handle.raw == ce::kCurrentThreadHandle) return current_thread(caller);
    if (process(caller.process) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    HandleTable::Entry* entry = entry_by_id_or_handle(caller.process, handle);
    auto* thread = entry != nullptr ? object_cast<ThreadObject>(entry->object.get()) : nullptr;
    if (thread == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    return thread;
}

Result<ThreadCreated> Kernel::create_thread(ProcessId caller, uint32_t flags,
                                            uint32_t stack_size) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // §2.1: flags, then the reservation size (CE 5: > 0 as a signed value; CE 6: 0 is the default).
    if ((flags & ~(kCreateSuspended | kStackSizeIsReservation)) != 0)
        return Win32Error::ERROR_INVALID_PARAMETER;
    if ((flags & kStackSizeIsReservation) != 0 &&
        !personality_->reservation_valid(static_cast<int32_t>(stack_size)))
        return Win32Error::ERROR_INVALID_PARAMETER;
    // Out of handles is CE's out of memory for a thread record.
    if (handles_.at_quota(caller)) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    HandleValue handle;
    auto made = add_thread(*p, 0, true, (flags & kCreateSuspended) != 0 ? 1 : 0, &handle);
    if (!made) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    const uint32_t id = handles_.id_of(made.value()->handle());
    log::thread()->debug("thread created process={} h={:#x} id={:#x}{}", caller.raw, handle.raw,
                         id, (flags & kCreateSuspended) != 0 ? " suspended" : "");
    return ThreadCreated{handle, id};
}

Result<ThreadState> Kernel::attach_thread(ThreadRef caller, HandleValue created) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    ThreadObject* thread = nullptr;
    if (created.raw == 0) {
        CEK_TRY(thread, current_thread(caller));
    } else {
        // The shim names the new thread by its id.
        const HandleValue own = handles_.value_of_id(created.raw);
        auto it = p->threads.find(own.raw);
        if (it == p->threads.end() || !it->second->created() || it->second->tid() != 0)
            return Win32Error::ERROR_INVALID_PARAMETER;
        thread = it->second.get();
        thread->start(caller.tid);
        p->thread_by_tid[caller.tid] = own.raw;
    }
    return state_of(*thread, 0);
}

ThreadState Kernel::state_of(const ThreadObject& t, uint32_t previous) const {
    ThreadState s;
    s.id = handles_.id_of(t.handle());
    s.previous = previous;
    s.count = t.suspend_count();
    s.sequence = t.sequence();
    s.tid = t.tid();
    s.exited = t.exited();
    return s;
}

void Kernel::end_thread(ThreadObject& t, uint32_t code) {
    if (!t.exit(code)) return;
    Process* p = process(t.process());
    const ThreadRef ref{t.process(), t.tid()};
    if (p != nullptr && t.tid() != 0) {
        // A wait the thread left parked (TerminateThread) ends with the abort CE reports; the
        // kernel keeps no wait of a thread that is gone.
        std::vector<uint64_t> ids;
        for (const auto& [tag, id] : p->waits)
            if (auto w = waits_.find(id); w != waits_.end() && w->second.thread == ref)
                ids.push_back(id);
        for (uint64_t id : ids) {
            Wait w = unlist(waits_.find(id));
            WaitCompletion done{w.thread.process, w.tag, 0xFFFFFFFFu};
            if (w.msg)
                done.code = w.msg->read ? proto::RequestCode::MsgQueueRead
                                        : proto::RequestCode::MsgQueueWrite;
            done.failed = true;
            done.error = Win32Error::ERROR_OPERATION_ABORTED;
            completions_.push_back(std::move(done));
        }
        // The mutexes it owns are abandoned now (0005 could only do this at process death).
        settle_words_of(*p, t.tid());
        std::vector<Ref<MutexObject>> abandoned;
        for (auto it = p->owned_mutexes.begin(); it != p->owned_mutexes.end();) {
            if (it->second->owner() && *it->second->owner() == ref) {
                abandoned.push_back(it->second);
                it = p->owned_mutexes.erase(it);
            } else {
                ++it;
            }
        }
        for (auto& m : abandoned) {
            log::sync()->debug("mutex id={} abandoned by thread {:#x}", m->id(), t.handle().raw);
            m->abandon();
            wake_waiters(*m);
        }
    }
    if (t.resume_tag) release_held(t);  // its wait in the kernel fails
    log::thread()->debug("thread exited process={} id={:#x} code={:#x}", t.process().raw,
                         t.handle().raw, code);
    wake_waiters(t);
}

void Kernel::retire_thread(Process& p, ThreadObject& t) {
    const Ref<ThreadObject> keep(&t);
    if (t.tid() != 0) {
        auto it = p.thread_by_tid.find(t.tid());
        if (it != p.thread_by_tid.end() && it->second == t.handle().raw) p.thread_by_tid.erase(it);
    }
    p.threads.erase(t.handle().raw);
    release_id(t, t.handle());  // the thread's own reference
}

void Kernel::exit_thread(ThreadRef caller, uint32_t code) {
    Process* p = process(caller.process);
    if (p == nullptr) return;
    auto it = p->thread_by_tid.find(caller.tid);
    if (it == p->thread_by_tid.end()) return;  // never known: nothing to tell anyone
    auto t = p->threads.find(it->second);
    if (t == p->threads.end()) return;
    const Ref<ThreadObject> thread = t->second;
    end_thread(*thread, code);
    retire_thread(*p, *thread);
}

void Kernel::end_threads_of(Process& p) {
    // A process that is gone (its socket hung up, whatever the cause) takes its threads along;
    // they exit with 0, the code CE gives the threads it kills on the way out (§1.4).
    // The primary thread's code is the process's, when the process told one (§1.4).
    std::vector<Ref<ThreadObject>> threads;
    for (const auto& [raw, t] : p.threads) threads.push_back(t);
    const bool told = p.object && p.object->has_exit_code();
    for (auto& t : threads) {
        const bool primary = p.pid > 0 && t->tid() == static_cast<uint32_t>(p.pid);
        end_thread(*t, primary && told ? p.object->recorded_exit_code() : 0);
        retire_thread(p, *t);
    }
}

Result<ThreadState> Kernel::suspend_thread(ThreadRef caller, HandleValue handle,
                                           std::optional<uint64_t> tag) {
    CEK_TRY(ThreadObject * t, thread_for(caller, handle));
    if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
    const uint32_t previous = t->suspend_count();
    if (previous >= ThreadObject::kMaxSuspend) return Win32Error::ERROR_SIGNAL_REFUSED;
    const bool agent = needs_agent(caller, *t);
    if (agent) CEK_TRY_VOID(agent_room(*t));
    t->set_suspend_count(previous + 1);
    ThreadState s = state_of(*t, previous);
    s.caller = t->process() == caller.process && t->tid() == caller.tid;
    if (agent) s.deferred = send_to_agent(*t, ce::ThreadControlOp::Suspend, s, caller.process, tag);
    return s;
}

Result<ThreadState> Kernel::resume_thread(ThreadRef caller, HandleValue handle) {
    CEK_TRY(ThreadObject * t, thread_for(caller, handle));
    if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
    const uint32_t previous = t->suspend_count();
    // Resuming a thread that is not suspended returns 0 and is no error.
    if (previous != 0) t->set_suspend_count(previous - 1);
    if (t->suspend_count() == 0 && t->resume_tag) release_held(*t);
    ThreadState s = state_of(*t, previous);
    // Nobody waits for a start: the agent applies it in order after the stops queued before.
    // (A process without an agent had no stop queued either: its count is all there is.)
    if (previous == 1 && needs_agent(caller, *t))
        (void)send_to_agent(*t, ce::ThreadControlOp::Resume, s, caller.process, std::nullopt);
    return s;
}

std::optional<Result<ThreadState>> Kernel::await_resume(ThreadRef caller, uint64_t tag) {
    CEK_TRY(ThreadObject * t, current_thread(caller));
    if (!t->held_in_kernel() || t->resume_tag)
        return Result<ThreadState>(Win32Error::ERROR_INVALID_PARAMETER);
    if (t->suspend_count() == 0) {
        t->set_held_in_kernel(false);
        return Result<ThreadState>(state_of(*t, 0));
    }
    t->resume_tag = tag;
    return std::nullopt;
}

void Kernel::release_held(ThreadObject& t) {
    WaitCompletion done{t.process(), *t.resume_tag, t.sequence()};
    done.code = proto::RequestCode::ThreadControl;
    done.thread_handle = handles_.id_of(t.handle());
    done.thread_tid = t.tid();
    if (t.exited()) {
        done.failed = true;
        done.error = Win32Error::ERROR_OPERATION_ABORTED;
    }
    t.resume_tag.reset();
    t.set_held_in_kernel(false);
    completions_.push_back(std::move(done));
}

Result<ThreadState> Kernel::terminate_thread(ThreadRef caller, HandleValue handle, uint32_t code,
                                             std::optional<uint64_t> tag) {
    CEK_TRY(ThreadObject * t, thread_for(caller, handle));
    const Ref<ThreadObject> thread(t);
    ThreadState s = state_of(*t, 0);
    if (t->exited()) return s;  // the first recorded exit code wins
    Process* owner = process(t->process());
    // CE ends a process with its primary thread: another host process goes, with this code,
    // whether its primary thread runs or is held in the kernel (created suspended).
    const bool primary = owner != nullptr && owner->pid > 0 && owner->object &&
                         t->tid() == static_cast<uint32_t>(owner->pid) && other_host(caller, *t);
    bool agent = needs_agent(caller, *t) && !primary;
    if (agent) CEK_TRY_VOID(agent_room(*t));
    if (primary && !owner->object->exiting()) {
        owner->object->record_exit_code(code);
        owner->object->set_exiting();
        if (!killer_ || !killer_(owner->id)) {
            log::thread()->info("TerminateThread: cannot end process {} of primary thread {:#x}",
                                owner->pid, t->handle().raw);
            agent = !t->held_in_kernel() && agent_room(*t).ok();  // at least stop the thread
        }
    }
    end_thread(*t, code);
    if (owner != nullptr) retire_thread(*owner, *t);
    s = state_of(*t, 0);
    s.caller = t->process() == caller.process && t->tid() == caller.tid;
    if (agent)
        s.deferred = send_to_agent(*t, ce::ThreadControlOp::Terminate, s, caller.process, tag);
    return s;
}

bool Kernel::other_host(ThreadRef caller, const ThreadObject& target) const {
    // One host process: its connections share a host key (Server::host_of, from the pidfd),
    // whether or not the kernel can see its pid.
    auto a = processes_.find(caller.process);
    auto b = processes_.find(target.process());
    return a == processes_.end() || b == processes_.end() || a->second.host != b->second.host;
}

Result<void> Kernel::agent_room(const ThreadObject& target) const {
    auto it = processes_.find(target.process());
    // A process that runs no agent (a program without libcoredll, one not attached yet) cannot
    // have its threads stopped from outside.
    if (it == processes_.end() || !it->second.agent) return Win32Error::ERROR_ACCESS_DENIED;
    if (it->second.remote.size() + it->second.remote_taken.size() >= kMaxRemoteControls)
        return Win32Error::ERROR_BUSY;
    return {};
}

void Kernel::agent_ready(ProcessId id) {
    Process* p = process(id);
    if (p == nullptr || p->diagnostics) return;
    p->agent = true;
    if (!p->remote.empty()) pokes_.push_back(id);
}

bool Kernel::needs_agent(ThreadRef caller, const ThreadObject& target) const {
    // Stopping a host thread takes a signal and a word in the target's memory, which only the
    // target's own process reaches (docs/decisions/0010-threads.md).
    if (target.held_in_kernel()) return false;  // it waits in the kernel: no signal needed
    return other_host(caller, target);
}

bool Kernel::send_to_agent(ThreadObject& t, ce::ThreadControlOp op, const ThreadState& state,
                           ProcessId caller, std::optional<uint64_t> tag) {
    Process* owner = process(t.process());
    if (owner == nullptr || !owner->agent) return false;
    RemoteControl c;
    c.op = op;
    c.state = state;
    if (tag) {
        do {
            ++next_remote_token_;
        } while (next_remote_token_ == 0 || owner->remote_taken.count(next_remote_token_) != 0);
        c.token = next_remote_token_;
        c.caller = caller;
        c.tag = *tag;
        c.caller_waits = true;
    }
    if (owner->remote.empty()) pokes_.push_back(owner->id);
    owner->remote.push_back(c);
    log::thread()->debug("thread {:#x} of process {}: {} queued for its agent (token {})",
                         state.id, owner->id.raw, static_cast<uint32_t>(op), c.token);
    return c.token != 0;
}

namespace {

// The answer a caller waiting for an agent gets: the state its call left.
WaitCompletion remote_answer(const RemoteControl& c) {
    WaitCompletion done{c.caller, c.tag, c.state.sequence};
    done.code = proto::RequestCode::ThreadControl;
    done.thread_handle = c.state.id;
    done.thread_tid = c.state.tid;
    done.thread_previous = c.state.previous;
    done.thread_count = c.state.count;
    done.thread_exited = c.state.exited;
    return done;
}

}  // namespace

Result<RemoteControl> Kernel::take_remote_control(ProcessId agent) {
    Process* p = process(agent);
    if (p == nullptr || p->remote.empty()) return Win32Error::ERROR_NO_MORE_ITEMS;
    RemoteControl c = p->remote.front();
    p->remote.pop_front();
    if (c.token != 0) p->remote_taken.emplace(c.token, c);
    return c;
}

Result<void> Kernel::remote_control_done(ProcessId agent, uint32_t token) {
    Process* p = process(agent);
    if (p == nullptr) return Win32Error::ERROR_INVALID_PARAMETER;
    auto it = p->remote_taken.find(token);
    if (it == p->remote_taken.end()) return Win32Error::ERROR_INVALID_PARAMETER;
    if (it->second.caller_waits) completions_.push_back(remote_answer(it->second));
    p->remote_taken.erase(it);
    return {};
}

void Kernel::drop_remote_controls(Process& p) {
    // Its threads are gone with it: what was asked of them is done.
    for (const RemoteControl& c : p.remote)
        if (c.caller_waits) completions_.push_back(remote_answer(c));
    for (const auto& [token, c] : p.remote_taken)
        if (c.caller_waits) completions_.push_back(remote_answer(c));
    p.remote.clear();
    p.remote_taken.clear();
}

size_t Kernel::pending_remote_controls() const {
    size_t n = 0;
    for (const auto& [id, p] : processes_) {
        for (const RemoteControl& c : p.remote) n += c.caller_waits ? 1 : 0;
        for (const auto& [token, c] : p.remote_taken) n += c.caller_waits ? 1 : 0;
    }
    return n;
}

void Kernel::forget_remote_callers(ProcessId caller, std::optional<uint64_t> tag) {
    auto forget = [&](RemoteControl& c) {
        if (c.caller == caller && (!tag || c.tag == *tag)) c.caller_waits = false;
    };
    for (auto& [id, p] : processes_) {
        for (RemoteControl& c : p.remote) forget(c);
        for (auto& [token, c] : p.remote_taken) forget(c);
    }
}

Result<uint32_t> Kernel::thread_exit_code(ThreadRef caller, HandleValue handle) {
    CEK_TRY(ThreadObject * t, thread_for(caller, handle));
    return t->exit_code();
}

Result<uint32_t> Kernel::thread_priority(ThreadRef caller, HandleValue handle, ce::ThreadOp op,
                                         uint32_t value) {
    CEK_TRY(ThreadObject * t, thread_for(caller, handle));
    switch (op) {
    case ce::ThreadOp::GetPriority:
        if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
        // Default map: every level above TIME_CRITICAL's reads back as TIME_CRITICAL (0).
        return t->priority() < kFirstMappedPriority ? 0 : t->priority() - kFirstMappedPriority;
    case ce::ThreadOp::SetPriority:
        if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
        if (value >= kPriorityLevels) return Win32Error::ERROR_INVALID_PARAMETER;
        t->set_priority(kFirstMappedPriority + value);
        return 1;
    case ce::ThreadOp::CeGetPriority:
        if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
        return t->priority();
    case ce::ThreadOp::CeSetPriority:
        // Every process is fully trusted here, so the run-trust check never refuses.
        if (value >= kCePriorities) return Win32Error::ERROR_INVALID_PARAMETER;
        if (t->exited()) return Win32Error::ERROR_INVALID_PARAMETER;
        t->set_priority(value);
        return 1;
    case ce::ThreadOp::GetQuantum:
        if (t->exited()) return Win32Error::ERROR_INVALID_HANDLE;
        return t->quantum();
    case ce::ThreadOp::SetQuantum:
        if ((value & 0x80000000u) != 0) return Win32Error::ERROR_INVALID_PARAMETER;
        if (t->exited()) return Win32Error::ERROR_INVALID_PARAMETER;
        t->set_quantum(value);
        return 1;
    }
    return Win32Error::ERROR_INVALID_PARAMETER;
}

}  // namespace cek::kernel
