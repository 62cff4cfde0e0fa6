// Processes and handles: attaching and detaching processes (CE 5's clean-up order), handle
// entries and their names, CloseHandle. Rules: docs/semantics/handles.md, names.md.
#include "kernel/kernel.h"

#include <time.h>

#include <algorithm>
#include <stdexcept>

#include "common/utf.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"
#include "protocol/ce_constants.h"
#include "protocol/futex.h"

namespace cek::kernel {

using proto::clock_ns;

namespace {

std::unique_ptr<Personality> personality_or_throw(uint32_t version) {
    PersonalityChoice choice = choose_personality(version);
    if (!choice.personality) throw std::invalid_argument(choice.error);
    return std::move(choice.personality);
}

}  // namespace

Kernel::Kernel(KernelConfig config, std::unique_ptr<fsys::Root> root)
    : config_(config),
      personality_(personality_or_throw(config.personality)),
      root_(std::move(root)),
      boot_time_ns_(clock_ns(CLOCK_REALTIME)),
      boot_mono_ns_(clock_ns(CLOCK_MONOTONIC)),
      window_(config.window_base, config.window_size),
      handles_(config.handle_capacity, config.handle_quota,
               personality_->per_process_handles() ? HandleTable::Model::PerProcess
                                                   : HandleTable::Model::Global),
      diagnostics_(config.trace_capacity) {
    // The fair share's promises: at most half the table, whatever the configuration.
    const uint64_t groups = std::max<uint32_t>(config_.max_processes, 1);
    const uint64_t cap =
        uint64_t{std::min(config_.handle_capacity, HandleTable::kMaxEntries)} / (2 * groups);
    handles_.set_fair_share(static_cast<uint32_t>(std::min<uint64_t>(config_.handle_floor, cap)),
                            config_.max_processes);
    if (config_.copy_thread && root_) copy_worker_ = std::make_unique<CopyWorker>(kCopyChunk);
    // A dead mapping that live processes touched by address: each is asked to let go of it.
    window_.set_retire_observer(
        [this](uint64_t base, uint64_t length, const std::vector<ProcessId>& holders) {
            for (ProcessId holder : holders) {
                if (Process* p = process(holder)) p->touched.erase(base);  // nothing to forget
                // Without a server (tests) the range waits for the processes to end.
                if (shootdown_) shootdown_(holder, base, length);
            }
        });
}

Kernel::~Kernel() {
    // Detach everyone so objects die in CE order before the window goes, then close what the
    // kernel itself still owns (taken-over CreateFileForMapping handles).
    while (!processes_.empty()) detach_process(processes_.begin()->first);
    for (HandleValue h : handles_.handles_of(kKernelProcess)) close_kernel_handle(h);
    // Mutexes still referenced elsewhere die after the process table: they must not call back.
    for (auto& [id, mutex] : mutex_words_) mutex->drop_host();
    mutex_words_.clear();
}

Kernel::Process* Kernel::process(ProcessId id) {
    auto it = processes_.find(id);
    return it == processes_.end() ? nullptr : &it->second;
}

int Kernel::pid_of(ProcessId id) const {
    auto it = processes_.find(id);
    return it == processes_.end() ? 0 : it->second.pid;
}

size_t Kernel::connections_of(uint32_t host) const {
    auto it = hosts_.find(host);
    return it == hosts_.end() ? 0 : it->second.size();
}

Result<ProcessId> Kernel::attach_process(int pid, std::string executable, bool diagnostics,
                                         std::optional<uint32_t> host_key) {
    std::u16string image = utf16_from_utf8(executable);
    CEK_TRY(ProcessId id, attach_record(pid, std::move(executable), diagnostics,
                                        host_key.value_or(static_cast<uint32_t>(pid))));
    if (!diagnostics) {
        if (auto added = add_process_object(processes_.at(id), std::move(image), 0, false);
            !added) {
            detach_process(id);
            return added.error();
        }
    }
    return id;
}

Result<ProcessId> Kernel::attach_record(int pid, std::string executable, bool diagnostics,
                                        uint32_t key) {
    if (processes_.size() >= config_.max_processes) {
        log::kernel()->debug("attach pid={} refused: {} processes attached", pid,
                             processes_.size());
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    if (auto host = hosts_.find(key);
        host != hosts_.end() && host->second.size() >= config_.max_connections_per_host) {
        // At the cap, and only then, ask which of them are still there: a connection that hung
        // up a moment ago (an exec, a reconnect) must not lock its host out until it is read.
        const auto& ids = host->second;
        size_t live =
            liveness_probe_
                ? static_cast<size_t>(std::count_if(ids.begin(), ids.end(), liveness_probe_))
                : ids.size();
        if (live >= config_.max_connections_per_host) {
            log::kernel()->debug("attach pid={} refused: {} connections of that host", pid, live);
            return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
        }
    }
    ProcessId id{next_process_++};
    if (next_process_ == 0) next_process_ = 1;  // 0 is the kernel itself
    Process p{id, pid, key, std::move(executable), clock_ns(CLOCK_REALTIME), diagnostics,
              {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
    log::kernel()->debug("process attached id={} pid={} exe={}", id.raw, pid, p.executable);
    processes_.emplace(id, std::move(p));
    hosts_[key].push_back(id);
    // Every connection of one host process shares its handle quota.
    handles_.bind_group(id, key);
    return id;
}

void Kernel::detach_process(ProcessId id) {
    Process* p = process(id);
    if (p == nullptr) return;
    size_t views = p->views.size();
    // Its pending waits go first, then the mutexes its threads own are abandoned (waking
    // other processes' waits), so no wait completes for a process that is leaving.
    drop_sync_state(*p);
    end_threads_of(*p);  // its threads are gone too: their waiters wake
    drop_remote_controls(*p);  // callers waiting for its agent are answered
    forget_remote_callers(id, std::nullopt);  // and its own calls waiting for others' agents
    cancel_background(id);  // its copies stop; their temporaries go
    // CE 5 (docs/semantics/handles.md §7): CreateFileForMapping handles no mapping took over, then views, then
    // every handle the process holds, its whole count.
    std::vector<HandleValue> cffm = std::move(p->cffm);
    for (HandleValue h : cffm) close_cffm(*p, h);
    forget_touches(*p);  // before its views go: a mapping they free retires without it
    if (personality_->unmap_writes_back())  // CE 6 writes its views back as the process ends
        for (const auto& [address, v] : p->views)
            if ((v.access & ce::kFileMapWrite) != 0) v.mapping->start_write_back(v.offset, v.size);
    while (!p->views.empty()) remove_view(*p, p->views.begin());
    std::vector<HandleValue> held = handles_.handles_of(id);
    for (HandleValue h : held) release(h, id, true);
    // CE 5 (ce-kernel-objects.md §8 item 4): huge reservations go after the handles.
    release_huge_of(*p);
    window_.let_go(id);  // ranges of freed mappings it touched may be reused now
    log::kernel()->debug("process detached id={} pid={} handles={} views={}", id.raw, p->pid,
                         held.size(), views);
    handles_.unbind_group(id);
    // Creations it was waiting for go on without it.
    for (auto& [child, spawn] : spawns_)
        if (spawn.creator.process == id) spawn.creator_waiting = false;
    if (Ref<ProcessObject> object = p->object) {
        object->set_detached();
        maybe_end_process(*object);
    }
    if (auto host = hosts_.find(p->host); host != hosts_.end()) {
        std::erase(host->second, id);
        if (host->second.empty()) hosts_.erase(host);
    }
    processes_.erase(id);
    diagnostics_.forget(id);
    recheck_outside_waits();  // it may have changed a ring and died before telling anyone
}

void Kernel::entry_died(const Ref<KernelObject>& object) {
    if (object->named()) names_.unbind(object->type(), object->name());
    if (auto* end = object_cast<MsgQueueObject>(object.get())) msg_queue_end_closed(*end);
    log::handle()->debug("last handle closed type={} id={}", object_type_name(object->type()),
                         object->id());
}

void Kernel::release(HandleValue handle, ProcessId process, bool all) {
    Ref<KernelObject> ended = ended_behind(handle, process);
    auto dead = all ? handles_.release_all(handle, process) : handles_.release(handle, process);
    if (dead.ok() && dead.value()) entry_died(dead.value());
    if (ended) release_lapsed_id(*ended);
}

Ref<KernelObject> Kernel::ended_behind(HandleValue handle, ProcessId process) {
    if (handles_.global() || process == kKernelProcess) return {};
    HandleTable::Entry* e = handles_.find_for(handle, process);
    KernelObject* o = e != nullptr ? e->object.get() : nullptr;
    auto* po = object_cast<ProcessObject>(o);
    auto* to = object_cast<ThreadObject>(o);
    if ((po != nullptr && po->ended()) || (to != nullptr && to->exited())) return e->object;
    return {};
}

void Kernel::release_id(KernelObject& object, HandleValue id) {
    if (handles_.global() || handles_.handle_count(object) <= 1)
        release(id, kKernelProcess);
    else
        log::handle()->debug("id {:#x} kept: handles of it are open", id.raw);
}

void Kernel::release_lapsed_id(KernelObject& object) {
    if (handles_.handle_count(object) != 1) return;  // others still open, or the id is gone
    HandleValue id{};
    if (auto* p = object_cast<ProcessObject>(&object))
        id = p->handle();
    else if (auto* t = object_cast<ThreadObject>(&object))
        id = t->handle();
    if (handles_.find_for(id, kKernelProcess) != nullptr) release(id, kKernelProcess);
}

Result<HandleValue> Kernel::insert_handle(Ref<KernelObject> object, ProcessId owner,
                                          uint32_t access, bool kernel_owned) {
    auto h = handles_.insert(std::move(object), owner, access, kernel_owned);
    if (!h) return personality_->handle_quota_error();
    return h;
}

size_t Kernel::pending_cffm_of_host(uint32_t key) const {
    size_t n = 0;
    if (auto host = hosts_.find(key); host != hosts_.end())
        for (ProcessId id : host->second)
            if (auto it = processes_.find(id); it != processes_.end()) n += it->second.cffm.size();
    return n;
}

void Kernel::close_kernel_handle(HandleValue handle) { release(handle, kKernelProcess, true); }

void Kernel::close_cffm(Process& p, HandleValue handle) {
    if (personality_->kernel_owns_mapping_files())
        close_kernel_handle(handle);
    else
        release(handle, p.id);
}

bool Kernel::take_cffm(Process& p, HandleValue file) {
    auto it = std::find(p.cffm.begin(), p.cffm.end(), file);
    if (it == p.cffm.end()) return false;
    p.cffm.erase(it);
    return true;
}

Result<uint32_t> Kernel::stage_text(ThreadRef caller, uint32_t purpose, uint32_t total,
                                    uint32_t offset, std::u16string_view part) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    uint32_t longest = 0;
    switch (purpose) {
        case ce::kStageRegistryPath: longest = fsys::registry::kMaxPathChars; break;
        case ce::kStageCommandLine: longest = ce::kProcessCommandLongest; break;
        default: return Win32Error::ERROR_INVALID_PARAMETER;
    }
    if (offset == 0) p->text_staging.erase(caller.tid);
    auto it = p->text_staging.find(caller.tid);
    const bool staging = it != p->text_staging.end();
    const uint64_t end = uint64_t{offset} + part.size();
    if (total > longest || end > total || offset != (staging ? it->second.text.size() : 0) ||
        (staging && (it->second.total != total || it->second.purpose != purpose))) {
        if (staging) p->text_staging.erase(it);
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    if (!staging) {
        auto charge = memory_budget_.charge(caller.process, size_t{total} * sizeof(char16_t));
        if (!charge) return Win32Error::ERROR_OUTOFMEMORY;
        it = p->text_staging.emplace(caller.tid, TextStaging{}).first;
        it->second.purpose = purpose;
        it->second.total = total;
        it->second.charge = std::move(*charge);
        it->second.text.reserve(total);
    }
    it->second.text.append(part);
    return static_cast<uint32_t>(it->second.text.size());
}

Result<std::u16string> Kernel::take_staged_text(ThreadRef caller, uint32_t purpose) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    auto it = p->text_staging.find(caller.tid);
    if (it == p->text_staging.end()) return Win32Error::ERROR_INVALID_PARAMETER;
    const bool whole = it->second.purpose == purpose && it->second.text.size() == it->second.total;
    std::u16string text = std::move(it->second.text);
    p->text_staging.erase(it);
    if (!whole) return Win32Error::ERROR_INVALID_PARAMETER;
    return text;
}

Result<void> Kernel::close_handle(ProcessId caller, HandleValue handle) {
    // CE 5: a CreateFileForMapping handle no mapping has taken over is closed through the
    // caller's clean-up list (TryCloseMappedHandle); after the take-over the close fails.
    Process* p = process(caller);
    if (p != nullptr && take_cffm(*p, handle)) {
        close_cffm(*p, handle);
        return {};
    }
    Ref<KernelObject> ended = ended_behind(handle, caller);
    auto dead = handles_.release(handle, caller);
    if (!dead.ok()) {
        log::handle()->debug("close h={:#x} -> ERROR_INVALID_HANDLE(6)", handle.raw);
        return dead.error();
    }
    if (dead.value()) entry_died(dead.value());
    if (ended) release_lapsed_id(*ended);
    // CE 6: closing a mapping handle closes the CreateFileForMapping handle linked to it.
    if (p != nullptr && !p->cffm_links.empty()) {
        if (auto link = p->cffm_links.find(handle.raw); link != p->cffm_links.end()) {
            const HandleValue file = link->second;
            p->cffm_links.erase(link);
            release(file, caller);
        }
    }
    return {};
}

}  // namespace cek::kernel
