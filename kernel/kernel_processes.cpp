// Processes: the process object (CE 5: its handle value is the process id; CE 6: the kernel's
// own entry with bit 0 clear), CreateProcessW with CE 5's order of checks and image search, the
// creator's wait until the program attaches, exit codes, OpenProcess, OpenThread, the CE 6 id
// calls and TerminateProcess.
// Rules: ce-kernel-objects.md §1; docs/semantics/processes.md; design:
// docs/decisions/0011-processes.md.
//
// The kernel decides; the transport starts and kills host processes (set_launcher, set_killer)
// and reports how each one it started ended (child_exited), from the pidfd it holds.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/utf.h"
#include "fsys/host.h"
#include "fsys/registry/key.h"
#include "kernel/core/image.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"

namespace cek::kernel {

namespace {

// OpenProcess and OpenThread once the caller is known: ERROR_INVALID_PARAMETER for `inherit` or
// an id that is no T's, ERROR_OUTOFMEMORY without room; else another handle for the caller.
template <class T>
Result<HandleValue> open_by_id(HandleTable& handles, ProcessId caller, uint32_t id, bool inherit) {
    if (inherit) return Win32Error::ERROR_INVALID_PARAMETER;
    HandleTable::Entry* entry = handles.find_id(id);
    if (entry == nullptr || object_cast<T>(entry->object.get()) == nullptr)
        return Win32Error::ERROR_INVALID_PARAMETER;
    auto opened = handles.open(entry->object, caller, 0);
    if (!opened) return Win32Error::ERROR_OUTOFMEMORY;
    return opened;
}

// The exit code of a host process that told the kernel none (docs/semantics/processes.md §4):
// its exit status; for a fault, the CE exception code an unhandled fault ends a thread with;
// for any other signal, 128 + the signal, as a shell reports it.
uint32_t code_of_status(int status) {
    if (WIFEXITED(status)) return static_cast<uint32_t>(WEXITSTATUS(status));
    if (!WIFSIGNALED(status)) return 0;
    switch (WTERMSIG(status)) {
    case SIGSEGV:
    case SIGBUS:
        return 0xC0000005;  // STATUS_ACCESS_VIOLATION
    case SIGILL:
        return 0xC000001D;  // STATUS_ILLEGAL_INSTRUCTION
    case SIGFPE:
        return 0xC0000094;  // STATUS_INTEGER_DIVIDE_BY_ZERO
    default:
        return 128 + static_cast<uint32_t>(WTERMSIG(status));
    }
}

}  // namespace

uint32_t Kernel::process_id(ProcessId id) const {
    auto it = processes_.find(id);
    return it == processes_.end() || !it->second.object
               ? 0
               : handles_.id_of(it->second.object->handle());
}

HandleValue Kernel::process_handle(ProcessId id) const {
    auto it = processes_.find(id);
    return it == processes_.end() || !it->second.object ? HandleValue{}
                                                        : it->second.object->handle();
}

HandleTable::Entry* Kernel::entry_by_id_or_handle(ProcessId caller, HandleValue value) {
    return handles_.global() ? handles_.find_id(value.raw) : handles_.find_for(value, caller);
}

Result<void> Kernel::add_process_object(Process& p, std::u16string image, uint32_t parent,
                                        bool child) {
    auto object = make_ref<ProcessObject>(p.id, std::move(image), parent, child);
    object->set_pid(p.pid);
    // The kernel's reference keeps the id valid while the process runs, whatever it closes.
    CEK_TRY(HandleValue handle, insert_handle(object, kKernelProcess, 0));
    object->set_handle(handle);
    p.object = std::move(object);
    return {};
}

Result<ProcessObject*> Kernel::process_for(ProcessId caller, HandleValue handle) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (handle.raw == ce::kCurrentProcessHandle) {
        if (!p->object) return Win32Error::ERROR_INVALID_HANDLE;
        return p->object.get();
    }
    HandleTable::Entry* entry = entry_by_id_or_handle(caller, handle);
    auto* object = entry != nullptr ? object_cast<ProcessObject>(entry->object.get()) : nullptr;
    if (object == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    return object;
}

void Kernel::maybe_end_process(ProcessObject& o) {
    if (o.ended() || !o.ready_to_end()) return;
    const Ref<ProcessObject> keep(&o);
    // No code recorded: a process from a shell that was killed (the kernel cannot reap it).
    o.record_exit_code(0);
    o.end();
    log::process()->debug("process ended id={:#x} code={:#x}", o.handle().raw, o.exit_code());
    wake_waiters(o);
    release_id(o, o.handle());  // the object stays while anyone holds its id
}

Result<Kernel::FoundImage> Kernel::find_image(std::u16string_view name) {
    if (!root_) return Win32Error::ERROR_FILE_NOT_FOUND;
    // §1.2: the name as given, then with ".exe"; an absolute name where it says, a relative one
    // in \Windows, the root, then each folder of HKLM\Loader\SystemPath (a multi-string).
    const std::vector<std::u16string> names = personality_->image_names(name);
    std::vector<std::u16string> dirs;
    if (!name.empty() && (name[0] == u'\\' || name[0] == u'/')) {
        dirs.emplace_back();
    } else {
        dirs = {u"\\Windows\\", u"\\"};
        auto loader = registry_.open(registry_.root(fsys::registry::kLocalMachine), u"Loader");
        const fsys::registry::Value* path = nullptr;
        if (loader) {
            auto v = registry_.query_value(loader.value(), u"SystemPath");
            if (v) path = v.value();
        }
        if (path != nullptr && path->type == 7) {  // REG_MULTI_SZ
            std::u16string text(path->data.size() / 2, u'\0');
            std::memcpy(text.data(), path->data.data(), text.size() * 2);
            size_t start = 0;
            while (start < text.size()) {
                size_t end = text.find(u'\0', start);
                if (end == std::u16string::npos) end = text.size();
                std::u16string dir = text.substr(start, end - start);
                if (!dir.empty()) {
                    if (dir.back() != u'\\') dir.push_back(u'\\');
                    dirs.push_back(std::move(dir));
                }
                start = end + 1;
            }
        }
    }
    fsys::OpenRequest request;
    request.read = true;
    for (const auto& n : names) {
        for (const auto& d : dirs) {
            auto opened = root_->open_file(d + n, request);
            if (!opened) continue;
            std::u16string ce_path = opened.value().ce_path;
            return FoundImage{std::move(ce_path), std::move(opened.value())};
        }
    }
    log::process()->debug("CreateProcessW: no image for {}", log::text(name));
    return Win32Error::ERROR_FILE_NOT_FOUND;
}

std::optional<Result<ProcessCreated>> Kernel::create_process(ThreadRef caller,
                                                             const CreateProcessArgs& a,
                                                             uint64_t tag) {
    using R = Result<ProcessCreated>;
    Process* p = process(caller.process);
    if (p == nullptr || !p->object) return R(Win32Error::ERROR_INVALID_HANDLE);
    // CE 5 order (§1.1): the arguments, then the resources (a slot, handles), then the image.
    // CE 6 copies the name (a long one is its own error), then the command line.
    if (!a.image || a.inherit_handles || (a.flags & ~ce::kCreateProcessFlags) != 0 ||
        a.environment || a.current_dir)
        return R(Win32Error::ERROR_INVALID_PARAMETER);
    if (a.image->size() >= ce::kMaxPath) return R(personality_->long_image_name_error());
    if (a.command_overflow || a.command_line.size() > personality_->command_line_longest())
        return R(Win32Error::ERROR_INVALID_PARAMETER);
    size_t running = 0;
    for (const auto& [id, rec] : processes_) running += rec.object ? 1 : 0;
    const bool slots_full = personality_->process_slots() && running >= config_.process_slots;
    if (slots_full || processes_.size() >= config_.max_processes ||
        handles_.at_quota(caller.process))
        return R(Win32Error::ERROR_OUTOFMEMORY);
    if (!launcher_) return R(Win32Error::ERROR_NOT_SUPPORTED);
    CEK_TRY(FoundImage found, find_image(*a.image));
    CEK_TRY(ImageInfo info, inspect_image(found.file.fd.get()));
    const std::string host = fsys::host_path_of_fd(found.file.fd.get());
    const bool may_exec = ::access(host.c_str(), X_OK) == 0;
    auto argv = launch_argv(info, host, may_exec, split_command_line(a.command_line));
    if (host.empty() || !argv) return R(Win32Error::ERROR_ACCESS_DENIED);

    LaunchSpec spec{std::move(*argv), {}, info.ce_program};
    if (info.ce_program)
        spec.env = {"CEK_IMAGE=" + utf8_from_utf16(found.ce_path),
                    "CEK_CMDLINE=" + utf8_from_utf16(a.command_line)};
    CEK_TRY(Launched launched, launcher_(spec));

    // The record and its objects; the program runs already, so a failure here kills it.
    auto undo = [&](ProcessId id) {
        if (killer_) killer_(id);
        // Not yet a child the reap detaches (child_exited): its record goes now.
        if (children_.count(id) == 0) detach_process(id);
        return R(Win32Error::ERROR_OUTOFMEMORY);
    };
    auto rec = attach_record(launched.pid, host, false, launched.host);
    if (!rec) {
        log::process()->error("CreateProcessW: no record for the started pid {}", launched.pid);
        return R(Win32Error::ERROR_OUTOFMEMORY);
    }
    const ProcessId id = rec.value();
    Process& child = processes_.at(id);
    if (!add_process_object(child, found.ce_path, handles_.id_of(p->object->handle()), true))
        return undo(id);
    children_[id] = child.object;
    const bool suspended = (a.flags & ce::kCreateSuspended) != 0;
    auto primary = add_thread(child, static_cast<uint32_t>(launched.pid), false, suspended ? 1 : 0);
    if (!primary) return undo(id);
    primary.value()->set_held_in_kernel(suspended);
    ProcessCreated created{{}, {}, handles_.id_of(child.object->handle()),
                           handles_.id_of(primary.value()->handle())};
    auto process_handle = handles_.open(child.object, caller.process, 0);
    if (!process_handle) return undo(id);
    created.process = process_handle.value();
    auto thread_handle = handles_.open(primary.value(), caller.process, 0);
    if (!thread_handle) {
        release(created.process, caller.process);
        return undo(id);
    }
    created.thread = thread_handle.value();
    log::process()->debug("process created id={:#x} pid={} image={}{}", created.process_id,
                          launched.pid, log::text(found.ce_path),
                          suspended ? " suspended" : "");
    if (!info.ce_program) return R(created);
    spawns_[id] = Spawn{caller, tag, true, created};
    return std::nullopt;
}

Result<ThreadState> Kernel::primary_thread_state(ProcessId child) {
    Process* p = process(child);
    if (p == nullptr || p->pid <= 0 || children_.count(child) == 0)
        return Win32Error::ERROR_INVALID_HANDLE;
    auto it = p->thread_by_tid.find(static_cast<uint32_t>(p->pid));
    if (it == p->thread_by_tid.end()) return Win32Error::ERROR_INVALID_HANDLE;
    return state_of(*p->threads.at(it->second), 0);
}

void Kernel::program_loaded(ProcessId child) {
    auto it = spawns_.find(child);
    if (it == spawns_.end()) return;
    const Spawn spawn = it->second;
    spawns_.erase(it);
    if (spawn.creator_waiting) {
        WaitCompletion done{spawn.creator.process, spawn.tag, 0};
        done.code = proto::RequestCode::ProcessCreate;
        done.process_handle = spawn.created.process.raw;
        done.thread_handle = spawn.created.thread.raw;
        done.process_id = spawn.created.process_id;
        done.thread_id = spawn.created.thread_id;
        completions_.push_back(std::move(done));
    }
}

void Kernel::fail_spawn(std::map<ProcessId, Spawn>::iterator it, Win32Error error) {
    const Spawn spawn = it->second;
    spawns_.erase(it);
    if (!spawn.creator_waiting) return;
    release(spawn.created.thread, spawn.creator.process);
    release(spawn.created.process, spawn.creator.process);
    WaitCompletion done{spawn.creator.process, spawn.tag, 0};
    done.code = proto::RequestCode::ProcessCreate;
    done.failed = true;
    done.error = error;
    completions_.push_back(std::move(done));
}

std::optional<ProcessId> Kernel::child_by_pid(int pid) const {
    for (const auto& [id, object] : children_)
        if (object->pid() == pid) return id;
    return std::nullopt;
}

void Kernel::child_exited(ProcessId id, int status) {
    auto it = children_.find(id);
    if (it == children_.end()) return;
    const Ref<ProcessObject> object = it->second;
    children_.erase(it);
    object->record_exit_code(code_of_status(status));
    object->set_reaped();
    // A CE program that died before it attached never loaded: its creator's call fails.
    if (auto s = spawns_.find(id); s != spawns_.end())
        fail_spawn(s, Win32Error::ERROR_DLL_INIT_FAILED);
    if (process(id) != nullptr)
        detach_process(id);
    else
        maybe_end_process(*object);
}

void Kernel::exit_process(ProcessId caller, uint32_t code) {
    Process* p = process(caller);
    if (p == nullptr || !p->object) return;
    p->object->record_exit_code(code);
    p->object->set_exiting();
}

Result<HandleValue> Kernel::open_process(ProcessId caller, uint32_t id, bool inherit) {
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    return open_by_id<ProcessObject>(handles_, caller, id, inherit);
}

Result<HandleValue> Kernel::open_thread(ProcessId caller, uint32_t id, bool inherit) {
    if (process(caller) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (handles_.global()) return Win32Error::ERROR_CALL_NOT_IMPLEMENTED;  // CE 6 and later
    return open_by_id<ThreadObject>(handles_, caller, id, inherit);
}

Result<uint32_t> Kernel::id_of_handle(ThreadRef caller, HandleValue handle, ce::IdQuery what) {
    if (process(caller.process) == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (handles_.global()) return Win32Error::ERROR_CALL_NOT_IMPLEMENTED;  // CE 6 and later
    switch (what) {
    case ce::IdQuery::Thread: {
        CEK_TRY(ThreadObject * t, thread_for(caller, handle));
        return handles_.id_of(t->handle());
    }
    case ce::IdQuery::ProcessOfThread: {
        CEK_TRY(ThreadObject * t, thread_for(caller, handle));
        Process* p = process(t->process());
        if (p != nullptr && p->object) return handles_.id_of(p->object->handle());
        return Win32Error::ERROR_INVALID_HANDLE;  // its process is gone
    }
    case ce::IdQuery::Process: {
        CEK_TRY(ProcessObject * o, process_for(caller.process, handle));
        return handles_.id_of(o->handle());
    }
    }
    return Win32Error::ERROR_INVALID_PARAMETER;
}

Result<bool> Kernel::terminate_process(ProcessId caller, HandleValue handle, uint32_t code) {
    CEK_TRY(ProcessObject * target, process_for(caller, handle));
    if (target->process() == caller) {
        // The caller ends with this code (the shim ends it); CE 5 reports a failure, CE 6 not.
        target->record_exit_code(code);
        target->set_exiting();
        if (Win32Error e = personality_->terminate_self_error(); e != Win32Error::ERROR_SUCCESS)
            return e;
        return true;
    }
    if (target->exiting()) return personality_->terminate_exiting_error();
    target->record_exit_code(code);
    target->set_exiting();
    if (!killer_ || !killer_(target->process())) {
        log::process()->info("TerminateProcess: cannot kill process {:#x} (pid {})",
                             target->handle().raw, target->pid());
        return Win32Error::ERROR_ACCESS_DENIED;
    }
    log::process()->debug("process {:#x} terminated code={:#x}", target->handle().raw, code);
    return false;
}

Result<uint32_t> Kernel::process_exit_code(ProcessId caller, HandleValue handle) {
    CEK_TRY(ProcessObject * target, process_for(caller, handle));
    return target->exit_code();
}

}  // namespace cek::kernel
