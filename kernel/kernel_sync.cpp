// Synchronization objects: events, mutexes, semaphores, opening them by name, and
// DuplicateHandle. Rules: docs/semantics/sync.md, docs/semantics/handles.md §5.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "fsys/path.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"
#include "kernel/objects/event_object.h"
#include "kernel/objects/semaphore_object.h"

namespace cek::kernel {

namespace {

// Makes a sync object once create_named found no object of that name.
template <class T, class... Args>
Result<Ref<T>> make_sync(Args&&... args) {
    return make_ref<T>(std::forward<Args>(args)...);
}

}  // namespace

Result<HandleValue> Kernel::create_event(ProcessId caller, bool manual_reset, bool initial_state,
                                         const std::u16string* name, LastError& last_error) {
    return create_named(caller, ObjectType::Event, name, last_error,
                        [&] { return make_sync<EventObject>(manual_reset, initial_state); });
}

Result<HandleValue> Kernel::create_mutex(ThreadRef caller, bool initial_owner,
                                         const std::u16string* name, LastError& last_error) {
    Ref<MutexObject> made;
    auto handle = create_named(caller.process, ObjectType::Mutex, name, last_error, [&] {
        made = make_ref<MutexObject>();
        return Result<Ref<MutexObject>>(made);
    });
    // Ownership only once the handle exists; an existing mutex ignores bInitialOwner.
    if (handle && made && initial_owner) acquire(*made, caller);
    return handle;
}

Result<HandleValue> Kernel::create_semaphore(ProcessId caller, int32_t initial, int32_t maximum,
                                             const std::u16string* name,
                                             LastError& last_error) {
    // An existing name wins over bad counts, as for mappings: the lookup comes first.
    return create_named(caller, ObjectType::Semaphore, name, last_error,
                        [&]() -> Result<Ref<SemaphoreObject>> {
        if (initial < 0 || maximum <= 0 || initial > maximum)
            return Win32Error::ERROR_INVALID_PARAMETER;
        return make_sync<SemaphoreObject>(initial, maximum);
    });
}

Result<HandleValue> Kernel::open_sync(ProcessId caller, ObjectType type,
                                      const std::u16string& name) {
    if (process(caller) == nullptr || !Waitable::is_sync(type))
        return Win32Error::ERROR_INVALID_PARAMETER;
    CEK_TRY_VOID(NameSpace::check(name));
    auto hit = names_.find(type, name);
    if (!hit) {
        log::sync()->debug("open {} \"{}\" -> ERROR_FILE_NOT_FOUND(2)", object_type_name(type),
                           log::text(name));
        return Win32Error::ERROR_FILE_NOT_FOUND;
    }
    auto opened = handles_.open(Ref<KernelObject>(hit), caller, 0);
    if (!opened) return personality_->handle_quota_error();
    return opened;
}

Result<void> Kernel::set_event(ProcessId caller, HandleValue handle, ce::EventOp op) {
    CEK_TRY(EventObject * event, lookup<EventObject>(caller, handle));
    switch (op) {
    case ce::EventOp::Set:
        event->set();
        wake_waiters(*event);
        return {};
    case ce::EventOp::Reset:
        event->reset();
        return {};
    case ce::EventOp::Pulse:
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
    CEK_TRY(MutexObject * mutex, lookup<MutexObject>(caller.process, handle));
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

Result<const MutexObject*> Kernel::mutex_word(ProcessId caller, HandleValue handle) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(MutexObject * mutex, lookup<MutexObject>(caller, handle));
    // A word names its owner by Linux thread id: only for a process whose ids are this
    // kernel's (its PID namespace), and within bounds (a page, a descriptor and a mapping each).
    if (!thread_ids_ours(*p)) return nullptr;
    if (!mutex->has_word() && (mutex_words_.size() >= kMaxMutexWords ||
                               p->mutex_words.size() >= kMaxMutexWordsPerProcess))
        return nullptr;
    if (!mutex->share_word(caller, *this)) return nullptr;
    mutex_words_.emplace(mutex->id(), mutex);
    p->mutex_words.insert(mutex->id());
    return mutex;
}

void Kernel::publish_mutex_words() {
    // Only mutexes that changed since are looked at (word_settled, unlist): what cannot be
    // handed back now (a waiter, an abandonment to tell) is queued again by its next change.
    while (!unpublished_words_.empty()) {
        const uint64_t id = *unpublished_words_.begin();
        unpublished_words_.erase(unpublished_words_.begin());
        auto found = mutex_words_.find(id);
        if (found == mutex_words_.end()) continue;
        const Ref<MutexObject> mutex(found->second);  // an erase below may drop the last other
        if (!mutex->word_in_kernel()) continue;  // the word holds it already
        const std::optional<ThreadRef> owner = mutex->owner();
        Process* owner_process = owner ? process(owner->process) : nullptr;
        // An owner whose thread id means nothing here (another PID namespace) stays the
        // kernel's to keep: in the word it could be taken for another process's thread.
        if (owner && (owner_process == nullptr || !thread_ids_ours(*owner_process))) continue;
        if (!mutex->publish()) continue;
        // The word has it now: the owner's death is found through the word (settle_words_of),
        // its process being one the word is scanned for.
        if (owner_process != nullptr) {
            mutex->add_holder(owner->process);
            owner_process->mutex_words.insert(id);
            owner_process->owned_mutexes.erase(id);
        }
    }
}

void Kernel::settle_words_of(Process& p, std::optional<uint32_t> tid) {
    for (uint64_t id : p.mutex_words) {
        auto found = mutex_words_.find(id);
        if (found == mutex_words_.end()) continue;
        MutexObject& mutex = *found->second;
        mutex.forget_published(p.id, tid);  // its id may come back as another thread's
        // Only a word a thread of its may own: the kernel's, or naming that thread.
        if (const auto fast = mutex.word_owner_tid();
            !mutex.word_in_kernel() && (!fast || (tid && *fast != *tid)))
            continue;
        const std::optional<ThreadRef>& owner = mutex.owner();  // settles the word
        if (owner && owner->process == p.id && (!tid || owner->tid == *tid))
            p.owned_mutexes.emplace(id, Ref<MutexObject>(&mutex));
    }
}

std::optional<ThreadRef> Kernel::find_owner(uint32_t tid,
                                            const std::vector<ProcessId>& holders) const {
    // The threads the kernel knows first, then the host's own list: a thread that never called
    // the kernel (a plain pthread, or the first thread) can own a mutex through the word.
    for (ProcessId id : holders) {
        auto it = processes_.find(id);
        if (it != processes_.end() && it->second.thread_by_tid.contains(tid))
            return ThreadRef{id, tid};
    }
    for (ProcessId id : holders) {
        auto it = processes_.find(id);
        if (it == processes_.end() || it->second.pid <= 0) continue;
        if (thread_running(it->second.pid, tid)) return ThreadRef{id, tid};
    }
    return std::nullopt;
}

bool Kernel::thread_running(int pid, uint32_t tid) {
    // The task's state, the letter after the name's closing parenthesis: a leader that ended
    // while its other threads run stays listed as a zombie.
    const std::string path =
        "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    const char* close_paren = std::strrchr(buf, ')');
    if (close_paren == nullptr || close_paren[1] != ' ') return false;
    const char state = close_paren[2];
    return state != 'Z' && state != 'X' && state != 'x';
}

bool Kernel::same_pid_namespace(int pid) {
    if (pid <= 0) return false;  // a peer this kernel cannot see
    struct stat mine {}, theirs {};
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/pid";
    return ::stat("/proc/self/ns/pid", &mine) == 0 && ::stat(path.c_str(), &theirs) == 0 &&
           mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

void Kernel::word_settled(MutexObject& mutex) { unpublished_words_.insert(mutex.id()); }

void Kernel::word_may_go_back(Waitable& object) {
    if (auto* mutex = object_cast<MutexObject>(&object); mutex != nullptr && mutex->has_word())
        unpublished_words_.insert(mutex->id());  // perhaps no waiter left
}

bool Kernel::thread_ids_ours(Process& p) {
    if (!p.own_thread_ids) p.own_thread_ids = thread_ids_are_ours_(p.pid);
    return *p.own_thread_ids;
}

void Kernel::word_gone(MutexObject& mutex) {
    mutex_words_.erase(mutex.id());
    unpublished_words_.erase(mutex.id());
    for (ProcessId id : mutex.word_holders())
        if (Process* p = process(id)) p->mutex_words.erase(mutex.id());
}

Result<int32_t> Kernel::release_semaphore(ProcessId caller, HandleValue handle, int32_t count) {
    CEK_TRY(SemaphoreObject * semaphore, lookup<SemaphoreObject>(caller, handle));
    if (count <= 0) return Win32Error::ERROR_INVALID_PARAMETER;
    auto previous = semaphore->post(count);
    if (!previous) return Win32Error::ERROR_TOO_MANY_POSTS;
    wake_waiters(*semaphore);
    return *previous;
}

Result<HandleValue> Kernel::duplicate_handle(ThreadRef thread, uint32_t source_process,
                                             HandleValue handle, uint32_t target_process,
                                             uint32_t options, bool inherit) {
    const ProcessId caller = thread.process;
    if (!handles_.global())
        return duplicate_across(thread, source_process, handle, target_process, options, inherit);
    HandleTable::Entry* entry = handles_.find_for(handle, caller);
    std::optional<ObjectType> held;
    if (entry != nullptr) held = entry->object->type();
    CEK_TRY(DuplicatePlan plan, personality_->duplicate(
                                    DuplicateCall{source_process, target_process, options, inherit},
                                    held));
    // The caller holds the entry already, so only a saturated count can refuse it.
    if (plan.add_reference && !handles_.add_ref(handle, caller, 0))
        return Win32Error::ERROR_INVALID_PARAMETER;
    // With CLOSE_SOURCE the new reference replaces the source's: the count stays.
    return handle;
}

Result<HandleValue> Kernel::duplicate_across(ThreadRef thread, uint32_t source_process,
                                             HandleValue handle, uint32_t target_process,
                                             uint32_t options, bool inherit) {
    // CE 6 (handles.md §9): the flags first, then the source process and handle, the target
    // process, and a new entry in the target's table. With DUPLICATE_CLOSE_SOURCE the source
    // goes once it was found, whether or not the rest succeeds.
    const ProcessId caller = thread.process;
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(DuplicatePlan plan, personality_->duplicate(
                                    DuplicateCall{source_process, target_process, options, inherit},
                                    std::nullopt));
    auto live = [&](uint32_t value) -> Process* {
        auto named = process_for(caller, HandleValue{value});
        return named ? process(named.value()->process()) : nullptr;
    };
    Process* source = live(source_process);
    if (source == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // The pseudo-handles of the caller's own thread and process are real objects here.
    Ref<KernelObject> object;
    bool pseudo = false;
    if (source->id == caller && handle.raw == ce::kCurrentThreadHandle) {
        CEK_TRY(ThreadObject * self, current_thread(thread));
        object = Ref<KernelObject>(self);
        pseudo = true;
    } else if (source->id == caller && handle.raw == ce::kCurrentProcessHandle) {
        CEK_TRY(ProcessObject * self, process_for(caller, handle));
        object = Ref<KernelObject>(self);
        pseudo = true;
    } else if (HandleTable::Entry* entry = handles_.find_for(handle, source->id)) {
        object = entry->object;
    } else {
        return Win32Error::ERROR_INVALID_HANDLE;
    }
    Process* target = live(target_process);
    Result<HandleValue> made = Win32Error::ERROR_INVALID_HANDLE;
    if (target != nullptr) {
        made = handles_.open(object, target->id, 0);
        if (!made) made = personality_->handle_quota_error();
    }
    if (plan.close_source && !pseudo) (void)close_handle(source->id, handle);
    return made;
}

}  // namespace cek::kernel
