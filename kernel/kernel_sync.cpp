// The synchronization calls of Kernel: events, mutexes, semaphores, waits and DuplicateHandle,
// with CE 5's rules (ce-semantics.md §2.1, §3.5).
//
// Waits: a wait that cannot complete at once is recorded (waits_, by arrival) and listed on each
// of its objects. Whenever an object may have become ready (set, released, abandoned) its waits
// are tried oldest first; a completed wait acquires exactly one object, leaves every list and
// goes to completions_, which the transport turns into the reply that was left pending.
#include <time.h>

#include <algorithm>
#include <cstdio>

#include "fsys/path.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/objects/event_object.h"
#include "kernel/objects/semaphore_object.h"
#include "protocol/ce_constants.h"
#include "protocol/futex.h"

namespace cek::kernel {

namespace {

constexpr uint32_t kWaitObject0 = 0x00000000;
constexpr uint32_t kWaitAbandoned0 = 0x00000080;
constexpr uint32_t kWaitTimeout = 258;

using proto::monotonic_ns;
using proto::realtime_ns;

std::string printable(const std::u16string* name) {
    return name != nullptr ? fsys::to_utf8(*name).value_or("?") : "";
}

}  // namespace

Result<HandleValue> Kernel::create_sync(ProcessId caller, ObjectType type,
                                        const std::u16string* name, LastError& last_error,
                                        const std::function<Ref<Waitable>()>& make) {
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (name != nullptr) {
        if (name->size() > ce::kMaxNameChars) return Win32Error::ERROR_INVALID_PARAMETER;
        auto& space = names(type);
        if (auto hit = space.find(*name); hit != space.end()) {
            // At its handle quota a process cannot add an entry (CE 5 reports memory).
            if (!handles_.add_ref(hit->second, caller, 0))
                return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
            last_error = LastError::to(Win32Error::ERROR_ALREADY_EXISTS);
            log::sync()->debug("{} opened by name h={:#x}", object_type_name(type),
                               hit->second.raw);
            return hit->second;
        }
    }
    Ref<Waitable> object = make();
    if (name != nullptr) object->set_name(*name);
    CEK_TRY(HandleValue handle, insert_handle(object, caller, 0));
    if (name != nullptr) names(type).emplace(*name, handle);
    last_error = name != nullptr ? LastError::to(Win32Error::ERROR_SUCCESS) : LastError::keep();
    log::sync()->debug("{} created h={:#x} name={}", object_type_name(type), handle.raw,
                       printable(name));
    return handle;
}

Result<HandleValue> Kernel::create_event(ProcessId caller, bool manual_reset, bool initial_state,
                                         const std::u16string* name, LastError& last_error) {
    return create_sync(caller, ObjectType::Event, name, last_error, [&] {
        return Ref<Waitable>(make_ref<EventObject>(manual_reset, initial_state));
    });
}

Result<HandleValue> Kernel::create_mutex(ThreadRef caller, bool initial_owner,
                                         const std::u16string* name, LastError& last_error) {
    Ref<MutexObject> made;
    auto handle = create_sync(caller.process, ObjectType::Mutex, name, last_error, [&] {
        made = make_ref<MutexObject>();
        return Ref<Waitable>(made);
    });
    // Ownership only once the handle exists; an existing mutex ignores bInitialOwner.
    if (handle && made && initial_owner) acquire(*made, caller);
    return handle;
}

Result<HandleValue> Kernel::create_semaphore(ProcessId caller, int32_t initial, int32_t maximum,
                                             const std::u16string* name,
                                             LastError& last_error) {
    // An existing name wins over bad counts, as for mappings: the lookup comes first.
    if (name == nullptr || names(ObjectType::Semaphore).count(*name) == 0) {
        if (initial < 0 || maximum <= 0 || initial > maximum)
            return Win32Error::ERROR_INVALID_PARAMETER;
    }
    return create_sync(caller, ObjectType::Semaphore, name, last_error, [&] {
        return Ref<Waitable>(make_ref<SemaphoreObject>(initial, maximum));
    });
}

Result<HandleValue> Kernel::open_sync(ProcessId caller, ObjectType type,
                                      const std::u16string& name) {
    if (process(caller) == nullptr || !Waitable::is_waitable(type))
        return Win32Error::ERROR_INVALID_PARAMETER;
    if (name.size() > ce::kMaxNameChars) return Win32Error::ERROR_INVALID_PARAMETER;
    auto& space = names(type);
    auto hit = space.find(name);
    if (hit == space.end()) {
        log::sync()->debug("open {} \"{}\" -> ERROR_FILE_NOT_FOUND(2)", object_type_name(type),
                           printable(&name));
        return Win32Error::ERROR_FILE_NOT_FOUND;
    }
    if (!handles_.add_ref(hit->second, caller, 0)) return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    return hit->second;
}

template <class T>
T* Kernel::sync_for(ProcessId caller, HandleValue handle) {
    HandleTable::Entry* entry = handles_.find_for(handle, caller);
    return entry != nullptr ? object_cast<T>(entry->object.get()) : nullptr;
}

Result<void> Kernel::set_event(ProcessId caller, HandleValue handle, proto::EventOp op) {
    auto* event = sync_for<EventObject>(caller, handle);
    if (event == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    switch (op) {
    case proto::EventOp::Set:
        event->set();
        wake_waiters(*event);
        return {};
    case proto::EventOp::Reset:
        event->reset();
        return {};
    case proto::EventOp::Pulse:
        // Releases the threads waiting now (all for a manual-reset event, one for an auto-reset
        // one), then leaves the event nonsignalled whether or not anyone was released.
        event->set();
        wake_waiters(*event);
        event->reset();
        return {};
    }
    return Win32Error::ERROR_INVALID_PARAMETER;
}

Result<void> Kernel::release_mutex(ThreadRef caller, HandleValue handle) {
    auto* mutex = sync_for<MutexObject>(caller.process, handle);
    if (mutex == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    auto released = mutex->release_by(caller);
    if (!released) {
        log::sync()->debug("release mutex h={:#x} tid={} -> ERROR_NOT_OWNER(288)", handle.raw,
                           caller.tid);
        return Win32Error::ERROR_NOT_OWNER;
    }
    if (*released) {
        if (Process* p = process(caller.process)) p->owned_mutexes.erase(mutex->id());
        wake_waiters(*mutex);
    }
    return {};
}

Result<int32_t> Kernel::release_semaphore(ProcessId caller, HandleValue handle, int32_t count) {
    auto* semaphore = sync_for<SemaphoreObject>(caller, handle);
    if (semaphore == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (count <= 0) return Win32Error::ERROR_INVALID_PARAMETER;
    auto previous = semaphore->post(count);
    if (!previous) return Win32Error::ERROR_TOO_MANY_POSTS;
    wake_waiters(*semaphore);
    return *previous;
}

Result<HandleValue> Kernel::duplicate_handle(ProcessId caller, uint32_t source_process,
                                             HandleValue handle, uint32_t target_process,
                                             uint32_t options, bool inherit) {
    // CE 5 answers every failure with ERROR_INVALID_PARAMETER.
    constexpr Win32Error kInvalid = Win32Error::ERROR_INVALID_PARAMETER;
    if (source_process != proto::kCurrentProcessHandle ||
        target_process != proto::kCurrentProcessHandle)
        return kInvalid;
    if ((options & proto::kDuplicateSameAccess) == 0 ||
        (options & ~(proto::kDuplicateSameAccess | proto::kDuplicateCloseSource)) != 0 || inherit)
        return kInvalid;
    HandleTable::Entry* entry = handles_.find_for(handle, caller);
    if (entry == nullptr || waitable_cast(entry->object.get()) == nullptr) return kInvalid;
    // The caller holds the entry already, so only a saturated count can refuse it.
    if ((options & proto::kDuplicateCloseSource) == 0 && !handles_.add_ref(handle, caller, 0))
        return kInvalid;
    // With CLOSE_SOURCE the new reference replaces the source's: the count stays.
    return handle;
}

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
    if (handles.empty() || handles.size() > proto::kMaxWaitObjects || wait_all)
        return Result<uint32_t>(Win32Error::ERROR_INVALID_PARAMETER);
    Wait w{caller, tag, {}, {handles.begin(), handles.end()}, timeout_ms, 0, std::nullopt};
    w.objects.reserve(handles.size());
    for (HandleValue h : handles) {
        HandleTable::Entry* entry = handles_.find_for(h, caller.process);
        Waitable* object = entry != nullptr ? waitable_cast(entry->object.get()) : nullptr;
        if (object == nullptr) {
            log::sync()->debug("wait h={:#x} -> ERROR_INVALID_HANDLE(6)", h.raw);
            return Result<uint32_t>(Win32Error::ERROR_INVALID_HANDLE);
        }
        w.objects.emplace_back(object);
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
    const uint64_t id = next_wait_id_++;
    w.since_ns = monotonic_ns();
    if (timeout_ms != proto::kWaitInfinite) {
        w.deadline = w.since_ns + uint64_t{timeout_ms} * 1'000'000ULL;
        deadlines_.emplace(*w.deadline, id);
    }
    for (const auto& o : w.objects) o->waits().insert(id);
    auto [old, inserted] = p->waits.emplace(tag, id);
    if (!inserted) {
        // The transport reuses a tag only after the wait it named is gone; a clash is a bug.
        log::sync()->error("wait tag {:#x} of process {} already pending", tag, caller.process.raw);
        cancel_wait(caller.process, tag);
        p->waits.emplace(tag, id);
    }
    waits_.emplace(id, std::move(w));
    log::sync()->debug("wait pending id={} process={} tid={} objects={} timeout={}", id,
                       caller.process.raw, caller.tid, handles.size(), timeout_ms);
    return std::nullopt;
}

bool Kernel::try_complete(uint64_t id) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return false;
    Wait& w = it->second;
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

void Kernel::finish_wait(uint64_t id, uint32_t result) {
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    Wait w = std::move(it->second);
    waits_.erase(it);
    for (const auto& o : w.objects) o->waits().erase(id);
    if (w.deadline) deadlines_.erase({*w.deadline, id});
    if (Process* p = process(w.thread.process)) p->waits.erase(w.tag);
    completions_.push_back(WaitCompletion{w.thread.process, w.tag, result});
    if (tracing()) {
        // The request was traced as "pending"; its end gets a record of its own.
        TraceEntry e;
        e.record.time_ns = realtime_ns();
        e.record.duration_ns = monotonic_ns() - w.since_ns;
        e.record.process_id = w.thread.process.raw;
        e.record.thread_id = w.thread.tid;
        e.record.code = static_cast<uint32_t>(proto::RequestCode::WaitObjects);
        e.args = "(completed)";
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%x", result);
        e.result = buf;
        trace_record(std::move(e));
    }
    log::sync()->debug("wait done id={} process={} tid={} result={:#x}", id,
                       w.thread.process.raw, w.thread.tid, result);
}

void Kernel::wake_waiters(Waitable& object) {
    if (object.waits().empty()) return;
    // Completing a wait edits the set; walk a copy, oldest first, while the object is still
    // ready for someone.
    std::vector<uint64_t> ids(object.waits().begin(), object.waits().end());
    for (uint64_t id : ids) {
        auto it = waits_.find(id);
        if (it == waits_.end()) continue;
        const ProcessId waiter = it->second.thread.process;
        if (liveness_probe_ && !liveness_probe_(waiter)) {
            // Dead, its hang-up not read yet: it takes nothing and goes when it is detached.
            log::sync()->debug("wait id={} skipped: process={} is gone", id, waiter.raw);
            continue;
        }
        try_complete(id);
    }
}

void Kernel::cancel_wait(ProcessId caller, uint64_t tag) {
    Process* p = process(caller);
    if (p == nullptr) return;
    auto hit = p->waits.find(tag);
    if (hit == p->waits.end()) return;
    uint64_t id = hit->second;
    p->waits.erase(hit);
    auto it = waits_.find(id);
    if (it == waits_.end()) return;
    for (const auto& o : it->second.objects) o->waits().erase(id);
    if (it->second.deadline) deadlines_.erase({*it->second.deadline, id});
    waits_.erase(it);
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
    auto owned = std::move(p.owned_mutexes);
    p.owned_mutexes.clear();
    for (auto& [id, mutex] : owned) {
        log::sync()->debug("mutex id={} abandoned by process {}", id, p.id.raw);
        mutex->abandon();
        wake_waiters(*mutex);
    }
}

void Kernel::snapshot_waits(proto::Snapshot& s) const {
    const uint64_t now = monotonic_ns();
    for (const auto& [id, w] : waits_) {
        proto::WaitInfo info;
        info.process_id = w.thread.process.raw;
        info.thread_id = w.thread.tid;
        info.timeout_ms = w.timeout_ms;
        info.waited_ns = now - w.since_ns;
        for (HandleValue h : w.handles) info.handles.push_back(h.raw);
        s.waits.push_back(std::move(info));
    }
}

}  // namespace cek::kernel
