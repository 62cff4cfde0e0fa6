// WaitForSingleObject / WaitForMultipleObjects. Rules: docs/semantics/sync.md.
//
// A wait that cannot complete at once is recorded (waits_, by arrival) and listed on each of its
// objects. Whenever an object may have become ready (set, released, abandoned) its waits are
// tried oldest first; a completed wait acquires exactly one object, leaves every list and goes
// to completions_, which the transport turns into the reply that was left pending.
#include <algorithm>
#include <unordered_map>

#include "kernel/kernel_impl.h"
#include "kernel/log.h"
#include "protocol/futex.h"

namespace cek::kernel {

namespace {

constexpr uint32_t kWaitObject0 = 0x00000000;
constexpr uint32_t kWaitAbandoned0 = 0x00000080;
constexpr uint32_t kWaitTimeout = 258;

using proto::monotonic_ns;

}  // namespace

bool Kernel::acquire(Waitable& object, ThreadRef thread) {
    bool abandoned = object.acquire(thread);
    if (auto* mutex = object_cast<MutexObject>(&object);
        mutex != nullptr && mutex->recursion() == 1) {
        if (Process* p = process(thread.process))
            p->owned_mutexes.emplace(mutex->id(), Ref<MutexObject>(mutex));
    }
    return abandoned;
}

std::optional<Result<uint32_t>> Kernel::wait(ThreadRef caller, std::span<const HandleValue> handles,
                                             bool wait_all, uint32_t timeout_ms, uint64_t tag) {
    Process* p = process(caller.process);
    if (p == nullptr) return Result<uint32_t>(Win32Error::ERROR_INVALID_HANDLE);
    // CE: fWaitAll must be FALSE; 1 to MAXIMUM_WAIT_OBJECTS handles.
    if (handles.empty() || handles.size() > ce::kMaxWaitObjects || wait_all)
        return Result<uint32_t>(Win32Error::ERROR_INVALID_PARAMETER);
    Wait w{caller, tag, {}, {handles.begin(), handles.end()}, timeout_ms, 0, std::nullopt};
    w.objects.reserve(handles.size());
    for (HandleValue h : handles) {
        auto object = lookup<Waitable>(caller.process, h);
        if (!object && h.raw != ce::kCurrentThreadHandle) {
            // CE 5: a thread id is a global handle; any process may wait on it.
            if (auto thread = thread_for(caller, h)) object = static_cast<Waitable*>(thread.value());
            // So is a process id, and GetCurrentProcess() names the caller.
            else if (auto proc = process_for(caller.process, h))
                object = static_cast<Waitable*>(proc.value());
        }
        if (!object) {
            log::sync()->debug("wait h={:#x} -> ERROR_INVALID_HANDLE(6)", h.raw);
            return Result<uint32_t>(object.error());
        }
        w.objects.emplace_back(object.value());
    }
    // The lowest index that is ready wins.
    for (size_t i = 0; i < w.objects.size(); ++i) {
        if (w.objects[i]->ready_for(caller)) {
            bool abandoned = acquire(*w.objects[i], caller);
            return Result<uint32_t>(static_cast<uint32_t>(i) +
                                    (abandoned ? kWaitAbandoned0 : kWaitObject0));
        }
    }
    if (timeout_ms == 0) return Result<uint32_t>(kWaitTimeout);
    // A mutex its owner holds UINT32_MAX times would be ready but for the count.
    for (const auto& o : w.objects) {
        auto* mutex = object_cast<MutexObject>(o.get());
        if (mutex != nullptr && mutex->saturated() && mutex->owner() == caller)
            return Result<uint32_t>(Win32Error::ERROR_TOO_MANY_POSTS);
    }
    park(*p, std::move(w));
    return std::nullopt;
}

void Kernel::park(Process& p, Wait w) {
    const uint64_t id = next_wait_id_++;
    const uint64_t tag = w.tag;
    w.since_ns = monotonic_ns();
    if (w.timeout_ms != ce::kWaitInfinite) {
        w.deadline = w.since_ns + uint64_t{w.timeout_ms} * 1'000'000ULL;
        deadlines_.emplace(*w.deadline, id);
    }
    bool outside = false;
    for (const auto& o : w.objects) {
        o->waits().insert(id);
        if (o->changes_outside()) {
            o->waits_changed();
            outside = true;
        }
    }
    auto [old, inserted] = p.waits.emplace(tag, id);
    if (!inserted) {
        // The transport reuses a tag only after the wait it named is gone; a clash is a bug.
        log::sync()->error("wait tag {:#x} of process {} already pending", tag, p.id.raw);
        cancel_wait(p.id, tag);
        p.waits.emplace(tag, id);
    }
    log::sync()->debug("wait pending id={} process={} tid={} objects={} timeout={}{}", id,
                       p.id.raw, w.thread.tid, w.objects.size(), w.timeout_ms,
                       w.msg ? (w.msg->read ? " (ReadMsgQueue)" : " (WriteMsgQueue)") : "");
    waits_.emplace(id, std::move(w));
    // An object that changes outside the kernel (a queue's ring) may have become ready between
    // the caller's check and the listing that makes its clients tell the kernel: look again.
    if (outside) try_complete(id);
}

bool Kernel::try_complete(uint64_t id) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return false;
    Wait& w = it->second;
    if (w.msg) return try_msg_op(id);
    for (size_t i = 0; i < w.objects.size(); ++i) {
        if (w.objects[i]->ready_for(w.thread)) {
            bool abandoned = acquire(*w.objects[i], w.thread);
            finish_wait(id, static_cast<uint32_t>(i) +
                                (abandoned ? kWaitAbandoned0 : kWaitObject0));
            return true;
        }
    }
    return false;
}

Kernel::Wait Kernel::unlist(std::map<uint64_t, Wait>::iterator it) {
    const uint64_t id = it->first;
    Wait w = std::move(it->second);
    waits_.erase(it);
    for (const auto& o : w.objects) {
        o->waits().erase(id);
        if (o->changes_outside()) o->waits_changed();
        word_may_go_back(*o);
    }
    if (w.deadline) deadlines_.erase({*w.deadline, id});
    if (Process* p = process(w.thread.process)) p->waits.erase(w.tag);
    return w;
}

void Kernel::finish_wait(uint64_t id, uint32_t result) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    Wait w = unlist(it);
    if (w.msg) {
        // Only the time-out ends a parked message-queue call here (try_msg_op does the rest).
        WaitCompletion done{w.thread.process, w.tag, result};
        done.code = w.msg->read ? proto::RequestCode::MsgQueueRead : proto::RequestCode::MsgQueueWrite;
        done.failed = true;
        done.error = Win32Error::ERROR_TIMEOUT;
        if (w.msg->staged) drop_msg_staging(w.thread);
        completions_.push_back(std::move(done));
        return;
    }
    completions_.push_back(WaitCompletion{w.thread.process, w.tag, result});
    if (diagnostics_.tracing())
        diagnostics_.record_wait_done(w.thread.process, w.thread.tid, pid_of(w.thread.process),
                                      w.since_ns, result);
    log::sync()->debug("wait done id={} process={} tid={} result={:#x}", id,
                       w.thread.process.raw, w.thread.tid, result);
}

void Kernel::wake_waiters(Waitable& object) {
    if (object.waits().empty()) return;
    if (waking_) {
        wake_queue_.emplace_back(&object);
        return;
    }
    waking_ = true;
    wake_waiters_now(object);
    for (size_t i = 0; i < wake_queue_.size(); ++i) {
        const Ref<Waitable> next = wake_queue_[i];
        wake_waiters_now(*next);
    }
    wake_queue_.clear();
    waking_ = false;
}

void Kernel::wake_waiters_now(Waitable& object) {
    if (object.waits().empty()) return;
    // Only `object` changed, and a pending wait has no other object ready (it would have
    // completed), so only its waits can complete, oldest first, and only while it is available.
    // The cost is one step per completed wait, plus one per skipped wait of a process that is
    // gone: the walk stops as soon as nothing is left to hand out.
    const Ref<Waitable> keep(&object);         // completing a wait drops that wait's reference
    std::unordered_map<uint32_t, bool> alive;  // this signal's probe answers, per process
    auto& ids = object.waits();
    for (auto it = ids.begin(); it != ids.end() && object.available();) {
        const uint64_t id = *it++;  // completing `id` removes it (and nothing else) from `ids`
        auto w = waits_.find(id);
        if (w == waits_.end()) continue;
        const ThreadRef thread = w->second.thread;
        if (!object.ready_for(thread)) continue;
        // A process that died a moment ago is detached only once its hang-up is read; it must
        // not take what it would spend. What it would not spend (a manual-reset event) costs
        // no question.
        if ((object.acquire_spends() || w->second.msg) && liveness_probe_) {
            auto [known, fresh] = alive.try_emplace(thread.process.raw, true);
            if (fresh) known->second = liveness_probe_(thread.process);
            if (!known->second) {
                log::sync()->debug("wait id={} skipped: process={} is gone", id,
                                   thread.process.raw);
                continue;
            }
        }
        try_complete(id);
    }
}

void Kernel::cancel_wait(ProcessId caller, uint64_t tag) {
    Process* p = process(caller);
    if (p == nullptr) return;
    auto hit = p->waits.find(tag);
    if (hit == p->waits.end()) {
        // Not a wait: perhaps a suspend waiting for another process's agent.
        forget_remote_callers(caller, tag);
        return;
    }
    uint64_t id = hit->second;
    p->waits.erase(hit);
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    for (const auto& o : it->second.objects) {
        o->waits().erase(id);
        if (o->changes_outside()) o->waits_changed();
        word_may_go_back(*o);
    }
    if (it->second.deadline) deadlines_.erase({*it->second.deadline, id});
    waits_.erase(it);
}

void Kernel::recheck_outside_waits() {
    // A client that changed a ring and died (or was stopped for good) before it told the kernel
    // leaves the ring's waiters asleep: look at every wait on such an object once.
    std::vector<uint64_t> ids;
    for (const auto& [id, w] : waits_)
        for (const auto& o : w.objects)
            if (o->changes_outside()) {
                ids.push_back(id);
                break;
            }
    for (uint64_t id : ids) try_complete(id);
}

void Kernel::expire_waits(uint64_t now_ns) {
    while (!deadlines_.empty() && deadlines_.begin()->first <= now_ns)
        finish_wait(deadlines_.begin()->second, kWaitTimeout);
}

std::optional<uint64_t> Kernel::next_wait_deadline() const {
    if (deadlines_.empty()) return std::nullopt;
    return deadlines_.begin()->first;
}

void Kernel::drop_sync_state(Process& p) {
    std::vector<uint64_t> tags;
    tags.reserve(p.waits.size());
    for (const auto& [tag, id] : p.waits) tags.push_back(tag);
    for (uint64_t tag : tags) cancel_wait(p.id, tag);
    // Mutexes its threads still own are abandoned; the next waiter hears WAIT_ABANDONED.
    settle_words_of(p, std::nullopt);
    for (uint64_t id : p.mutex_words)
        if (auto found = mutex_words_.find(id); found != mutex_words_.end())
            found->second->forget_holder(p.id);
    p.mutex_words.clear();
    auto owned = std::move(p.owned_mutexes);
    p.owned_mutexes.clear();
    for (auto& [id, mutex] : owned) {
        log::sync()->debug("mutex id={} abandoned by process {}", id, p.id.raw);
        mutex->abandon();
        wake_waiters(*mutex);
    }
}

}  // namespace cek::kernel
