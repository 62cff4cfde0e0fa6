// Files: CreateFileW / CreateFileForMappingW, calls on file handles, the path-based calls and
// searches. Rules: docs/semantics/files.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "fsys/fold.h"
#include "fsys/path.h"
#include "kernel/kernel.h"
#include "kernel/kernel_impl.h"
#include "kernel/log.h"
#include "kernel/objects/find_object.h"
#include "protocol/ce_constants.h"
#include "protocol/file_position.h"
#include "protocol/futex.h"

namespace cek::kernel {

namespace {

FileAccess access_from(uint32_t desired) {
    return FileAccess{
        (desired & (ce::kGenericRead | ce::kGenericAll | ce::kFileReadData)) != 0,
        (desired & (ce::kGenericWrite | ce::kGenericAll | ce::kFileWriteData |
                    ce::kFileAppendData)) != 0};
}

uint32_t access_bits(FileAccess a) {
    return (a.read ? ce::kGenericRead : 0) | (a.write ? ce::kGenericWrite : 0);
}

}  // namespace

Result<std::u16string> Kernel::file_key(std::u16string_view path) const {
    CEK_TRY(fsys::CePath parsed, fsys::parse_path(path));
    return fsys::fold(fsys::format_path(parsed.components));
}

Result<HandleValue> Kernel::create_file(ProcessId caller, const CreateFileArgs& a,
                                        LastError& last_error) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    // Parameter errors come before any look at the file (docs/semantics/files.md §3): dispositions
    // 1..5 only, and TRUNCATE_EXISTING needs the literal GENERIC_WRITE bit.
    if (a.disposition < ce::kCreateNew || a.disposition > ce::kTruncateExisting ||
        (a.disposition == ce::kTruncateExisting && (a.access & ce::kGenericWrite) == 0))
        return Win32Error::ERROR_INVALID_PARAMETER;
    FileAccess access = access_from(a.access);
    uint32_t share = a.share & (kShareRead | kShareWrite);
    uint32_t flags = a.flags_and_attributes;
    const bool kernel_owned = a.for_mapping && personality_->kernel_owns_mapping_files();
    if (a.for_mapping) {
        // The personality's share mode (CE 5 ignores the argument). CE 5's kernel makes writes
        // go through; CE 6's coredll passes the flags on and says the call is deprecated.
        share = personality_->mapping_file_share(a.access, a.share);
        if (kernel_owned) {
            flags |= ce::kFileFlagWriteThrough;
        } else if (!p->cffm_warned) {
            p->cffm_warned = true;  // once per process, not once per call
            log::file()->info("pid={} calls CreateFileForMappingW, deprecated in CE 6 (use "
                              "CreateFileW)",
                              p->pid);
        }
    }
    // Kernel-owned handles are charged to their creator's host process until taken over: the
    // same quota as its handles, over all its connections.
    if (kernel_owned && pending_cffm_of_host(p->host) >= handles_.process_quota())
        return personality_->handle_quota_error();
    CEK_TRY(std::u16string key, file_key(a.path));
    // Sharing is decided before anything touches the file (CREATE_ALWAYS truncates).
    if (open_files_.conflicts(key, access.read, access.write, share)) {
        log::file()->debug("open {} -> ERROR_SHARING_VIOLATION(32)",
                           log::text(a.path));
        return Win32Error::ERROR_SHARING_VIOLATION;
    }
    if ((a.disposition == ce::kCreateAlways || a.disposition == ce::kTruncateExisting) &&
        open_files_.mapped_length(key) != 0)
        return Win32Error::ERROR_USER_MAPPED_FILE;
    fsys::OpenRequest req;
    req.read = access.read;
    req.write = access.write;
    req.disposition = a.disposition;
    req.attributes = flags & ce::kFileAttributeMask;
    req.allow_directory = (flags & ce::kFileFlagBackupSemantics) != 0;
    req.write_through = (flags & ce::kFileFlagWriteThrough) != 0;
    CEK_TRY(fsys::OpenedFile opened, root_->open_file(a.path, req));
    // Caching hints live in the open file description, so they reach every process using it.
    if ((flags & ce::kFileFlagRandomAccess) != 0)
        ::posix_fadvise(opened.fd.get(), 0, 0, POSIX_FADV_RANDOM);
    else if ((flags & ce::kFileFlagSequentialScan) != 0)
        ::posix_fadvise(opened.fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    bool existed = opened.existed;
    auto file = make_ref<FileObject>(std::move(opened), access, share, flags, key, open_files_);
    if (a.for_mapping) file->set_for_mapping();
    HandleValue handle;
    if (kernel_owned) {
        // CE 5: the kernel owns the handle, so every process can use it; the caller's clean-up
        // list closes it if the process ends before a mapping takes it over.
        CEK_TRY(HandleValue h, insert_handle(file, kKernelProcess, access_bits(access), true));
        p->cffm.push_back(h);
        handle = h;
    } else {
        CEK_TRY(HandleValue h, insert_handle(file, caller, access_bits(access)));
        handle = h;
        if (a.for_mapping) p->cffm.push_back(h);  // CE 6: the process's own CFFM list
    }
    bool reports_existing = a.disposition == ce::kCreateAlways || a.disposition == ce::kOpenAlways;
    last_error = LastError::to(existed && reports_existing ? Win32Error::ERROR_ALREADY_EXISTS
                                                           : Win32Error::ERROR_SUCCESS);
    log::file()->debug("file opened h={:#x} path={} cffm={}", handle.raw,
                       log::text(file->ce_path()), a.for_mapping);
    return handle;
}

Result<FileDescriptorResult> Kernel::file_descriptor(ProcessId caller, HandleValue file,
                                                     bool keep_position) {
    CEK_TRY(FileObject * f, lookup<FileObject>(caller, file));
    const bool kernel_owned = handles_.find_for(file, caller)->kernel_owned;
    // A kernel-owned handle (CE 5 CreateFileForMapping) may be used by any process at any
    // time: its position is always the description's.
    Process* p = process(caller);
    static const Ref<PositionTable> kNone;
    const auto slot = f->position_for(
        caller, p != nullptr && keep_position && !kernel_owned ? p->positions : kNone);
    return FileDescriptorResult{f->shared_fd(),
                                f->access(),
                                kernel_owned,
                                f->is_directory(),
                                f->file_id().dev,
                                f->file_id().ino,
                                slot ? proto::position_ref(slot->index, slot->generation) : 0u};
}

Result<const PositionTable*> Kernel::file_positions(ProcessId caller) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (!p->positions) {
        p->positions = PositionTable::create();
        if (!p->positions)
            log::file()->warn("pid={}: no table of file positions errno={}", p->pid, errno);
    }
    return p->positions.get();
}

Result<uint64_t> Kernel::set_end_of_file(ProcessId caller, HandleValue file) {
    CEK_TRY(FileObject * f, lookup<FileObject>(caller, file, Need::write));
    if (f->is_directory()) return Win32Error::ERROR_ACCESS_DENIED;
    const std::optional<uint64_t> at = f->position_of(caller);  // the file's one position
    if (!at) return Win32Error::ERROR_INVALID_HANDLE;
    if (*at < open_files_.mapped_length(f->key())) return Win32Error::ERROR_USER_MAPPED_FILE;
    if (::ftruncate(f->fd(), static_cast<off_t>(*at)) != 0)
        return errno == ENOSPC || errno == EFBIG ? Win32Error::ERROR_DISK_FULL
                                                 : Win32Error::ERROR_ACCESS_DENIED;
    return *at;
}

Result<fsys::FileInfo> Kernel::file_info(ProcessId caller, HandleValue file) {
    CEK_TRY(FileObject * f, lookup<FileObject>(caller, file));
    return root_->query(f->fd());
}

Result<void> Kernel::set_file_time(ProcessId caller, HandleValue file,
                                   std::optional<uint64_t> creation,
                                   std::optional<uint64_t> last_access,
                                   std::optional<uint64_t> last_write) {
    CEK_TRY(FileObject * f, lookup<FileObject>(caller, file, Need::write));
    return root_->set_times(f->fd(), creation, last_access, last_write);
}

Result<uint32_t> Kernel::get_attributes(std::u16string_view path) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    return root_->get_attributes(path);
}

Result<void> Kernel::set_attributes(std::u16string_view path, uint32_t attributes) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    return root_->set_attributes(path, attributes);
}

Result<void> Kernel::delete_file(std::u16string_view path) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    CEK_TRY(std::u16string key, file_key(path));
    if (open_files_.is_open(key)) return Win32Error::ERROR_SHARING_VIOLATION;
    return root_->delete_file(path);
}

Result<void> Kernel::move_file(std::u16string_view from, std::u16string_view to) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    CEK_TRY(std::u16string from_key, file_key(from));
    CEK_TRY(std::u16string to_key, file_key(to));
    // Open files keep their names: neither they nor a folder holding one may move.
    if (open_files_.is_open_at_or_under(from_key) || open_files_.is_open(to_key))
        return Win32Error::ERROR_SHARING_VIOLATION;
    return root_->move_file(from, to);
}

std::optional<Result<void>> Kernel::copy_file(ProcessId caller, std::u16string_view from,
                                              std::u16string_view to, bool fail_if_exists,
                                              uint64_t tag) {
    if (!root_) return Result<void>(Win32Error::ERROR_NOT_SUPPORTED);
    auto done = [](Win32Error e) { return std::optional<Result<void>>(Result<void>(e)); };
    auto from_key = file_key(from);
    if (!from_key) return done(from_key.error());
    auto to_key = file_key(to);
    if (!to_key) return done(to_key.error());
    // The copy reads the source sharing reads, and replaces the target.
    if (open_files_.conflicts(*from_key, true, false, kShareRead) || open_files_.is_open(*to_key))
        return done(Win32Error::ERROR_SHARING_VIOLATION);
    auto job = root_->copy_begin(from, to, fail_if_exists);
    if (!job) return done(job.error());
    if ((*job)->size() <= kCopyChunk) {  // one step: at once, as cheap as a small copy can be
        auto data = (*job)->step(kCopyChunk);
        if (!data) return done(data.error());  // the job's end removes the temporary
        if (data.value()) return root_->copy_finish(**job);
    }
    if (!process_alive(caller)) return done(Win32Error::ERROR_INVALID_HANDLE);
    // Longer: the data moves in the background (on the worker, or a chunk per loop round), the
    // copy registered as an open of both names so that nobody writes, deletes or moves them
    // meanwhile.
    fsys::OpenedFile source{fsys::UniqueFd(), true, false, (*job)->source_id(),
                            std::u16string(from)};
    fsys::OpenedFile target{fsys::UniqueFd(), false, false, (*job)->temp_id(),
                            std::u16string(to)};
    CopyTask task{caller, tag, std::move(job).value(),
                  make_ref<FileObject>(std::move(source), FileAccess{true, false}, kShareRead, 0,
                                       *from_key, open_files_),
                  make_ref<FileObject>(std::move(target), FileAccess{false, true}, 0, 0, *to_key,
                                       open_files_)};
    log::file()->debug("copy of {} bytes goes on in the background tag={:#x}",
                       task.job->size(), tag);
    if (copy_worker_) copy_worker_->submit(task.job.get());
    copies_.push_back(std::move(task));
    return std::nullopt;
}

size_t Kernel::run_background(uint64_t budget_ns) {
    if (copy_worker_) return collect_copies();
    const uint64_t start = proto::monotonic_ns();
    size_t steps = 0;
    while (!copies_.empty()) {
        auto task = copies_.begin();
        auto step = task->job->step(kCopyChunk);
        ++steps;
        if (!step) {
            finish_copy(task, step.error());
        } else if (step.value()) {
            complete_copy(task);
        } else {
            copies_.splice(copies_.end(), copies_, task);  // round robin
        }
        if (proto::monotonic_ns() - start >= budget_ns) break;
    }
    return steps;
}

size_t Kernel::collect_copies() {
    auto finished = copy_worker_->take_finished();
    for (auto& f : finished) {
        auto task = std::find_if(copies_.begin(), copies_.end(),
                                 [&](const CopyTask& t) { return t.job.get() == f.job; });
        if (task == copies_.end()) {
            log::file()->error("the copy worker returned a job the kernel does not know");
            continue;
        }
        if (task->cancelled) {
            copies_.erase(task);
        } else if (!f.data) {
            finish_copy(task, f.data.error());
        } else {
            complete_copy(task);
        }
    }
    return finished.size();
}

void Kernel::complete_copy(std::list<CopyTask>::iterator task) {
    // A caller that died before its copy could end (its hang-up not read yet) gets no target:
    // its call never returned, as in CE, where the copy runs on the caller's own thread. The
    // job's end removes the temporary.
    if (liveness_probe_ && !liveness_probe_(task->process)) {
        log::file()->debug("background copy dropped: its caller died tag={:#x}", task->tag);
        copies_.erase(task);
        return;
    }
    Result<void> result = root_->copy_finish(*task->job);
    fsys::UniqueFd replaced = task->job->take_replaced();
    finish_copy(task, std::move(result));
    // The replaced file's last close releases its pages and blocks, which can wait for the
    // disk: the worker's to pay.
    if (replaced.valid() && copy_worker_) copy_worker_->dispose(std::move(replaced));
}

void Kernel::finish_copy(std::list<CopyTask>::iterator task, Result<void> result) {
    WaitCompletion done{task->process, task->tag, 0};
    done.code = proto::RequestCode::MovePath;
    if (!result) {
        done.failed = true;
        done.error = result.error();
        log::file()->debug("background copy failed tag={:#x} -> {}({})", task->tag,
                           error_name(result.error()), to_u32(result.error()));
    }
    completions_.push_back(done);
    copies_.erase(task);  // the registrations go; an unfinished job removes its temporary
}

void Kernel::cancel_background(ProcessId process) {
    size_t dropped = 0;
    for (auto task = copies_.begin(); task != copies_.end();) {
        if (task->process != process || task->cancelled) {
            ++task;
            continue;
        }
        ++dropped;
        if (!copy_worker_) {
            task = copies_.erase(task);
            continue;
        }
        // The worker may be writing into the temporary right now: its name and the copy's
        // registrations go at once, the job itself when the worker gives it back.
        task->job->abandon();
        task->source = nullptr;
        task->target = nullptr;
        task->cancelled = true;
        copy_worker_->cancel(task->job.get());
        ++task;
    }
    if (dropped != 0)
        log::file()->debug("process={} left: {} background copies dropped", process.raw, dropped);
}

Result<void> Kernel::create_directory(std::u16string_view path) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    return root_->create_directory(path);
}

Result<void> Kernel::remove_directory(std::u16string_view path) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    CEK_TRY(std::u16string key, file_key(path));
    if (open_files_.is_open(key)) return Win32Error::ERROR_SHARING_VIOLATION;
    return root_->remove_directory(path);
}

Result<HandleValue> Kernel::find_first(ProcessId caller, std::u16string_view pattern,
                                       fsys::FindEntry& first) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    if (!process_alive(caller)) return Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(fsys::FindCursor cursor, root_->find_start(pattern));
    auto charge = memory_budget_.charge(caller, FindObject::kMaxBytes);
    if (!charge) {
        log::file()->debug("find_first process={} at its memory budget ({} of {} bytes) -> "
                           "ERROR_NOT_ENOUGH_MEMORY(8)",
                           caller.raw, memory_budget_.used(caller), memory_budget_.limit());
        return Win32Error::ERROR_NOT_ENOUGH_MEMORY;
    }
    auto search =
        make_ref<FindObject>(std::u16string(pattern), std::move(cursor), std::move(*charge));
    CEK_TRY_VOID(root_->find_more(search->cursor(), search->page_to_fill(),
                                  FindObject::kPageEntries));
    const fsys::FindEntry* e = search->next();
    if (e == nullptr) return Win32Error::ERROR_FILE_NOT_FOUND;
    first = *e;
    return insert_handle(search, caller, 0);
}

Result<fsys::FindEntry> Kernel::find_next(ProcessId caller, HandleValue search) {
    CEK_TRY(FindObject * find, lookup<FindObject>(caller, search));
    const fsys::FindEntry* e = find->next();
    if (e == nullptr) {
        // Only the entries of one page at a time are held: fetch the next few.
        CEK_TRY_VOID(root_->find_more(find->cursor(), find->page_to_fill(),
                                      FindObject::kPageEntries));
        e = find->next();
    }
    if (e == nullptr) return Win32Error::ERROR_NO_MORE_FILES;
    return *e;
}

Result<void> Kernel::find_close(ProcessId caller, HandleValue search) {
    CEK_TRY_VOID(lookup<FindObject>(caller, search));
    return close_handle(caller, search);
}

// ---- Path queries of the misc coredll API ----

Result<fsys::FileInfo> Kernel::path_info(std::u16string_view path) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    return root_->path_info(path);
}

Result<DiskSpace> Kernel::disk_space(std::u16string_view directory) {
    if (!root_) return Win32Error::ERROR_NOT_SUPPORTED;
    fsys::OpenRequest look{};
    look.allow_directory = true;
    auto f = root_->open_file(directory.empty() ? std::u16string_view(u"\\") : directory, look);
    if (!f) {
        return f.error() == Win32Error::ERROR_FILE_NOT_FOUND ? Win32Error::ERROR_PATH_NOT_FOUND
                                                             : f.error();
    }
    struct statvfs vfs {};
    if (fstatvfs(f.value().fd.get(), &vfs) != 0) return Win32Error::ERROR_GEN_FAILURE;
    const uint64_t unit = vfs.f_frsize != 0 ? vfs.f_frsize : vfs.f_bsize;
    return DiskSpace{vfs.f_bavail * unit, vfs.f_blocks * unit, vfs.f_bfree * unit};
}

}  // namespace cek::kernel
