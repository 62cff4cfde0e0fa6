// Kernel: all kernel state and the CE calls on it, with no IPC. The dispatcher
// (dispatch/dispatch.h) decodes requests into these calls; unit tests and fuzzers call them
// directly with fake processes. Each family's rules live in a file of their own:
//   kernel.cpp            processes, handles, names (create_named), CloseHandle
//   kernel_mappings.cpp   CreateFileMappingW, views           docs/semantics/mappings.md
//   kernel_files.cpp      files, paths, searches              docs/semantics/files.md
//   kernel_sync.cpp       events, mutexes, semaphores,        docs/semantics/sync.md
//                         DuplicateHandle                     docs/semantics/handles.md
//   kernel_waits.cpp      WaitForMultipleObjects              docs/semantics/sync.md
//   kernel_vmem.cpp       CE 5 huge reservations              docs/semantics/vmem.md
//   kernel_msgqueue.cpp   point-to-point message queues       docs/semantics/msgqueue.md
//   kernel_registry.cpp   the registry (keys, values, hives)  docs/semantics/registry.md
//   kernel_threads.cpp    threads                             docs/semantics/threads.md
//   kernel_processes.cpp  processes, CreateProcessW           docs/semantics/processes.md
//   diagnostics/          the snapshot, the trace ring        docs/cedump.md
// Where CE 5 and CE 6 differ, a rule asks the Personality chosen at boot.
//
// Threading: one thread owns a Kernel (the event loop); nothing here locks.
// Errors: each call returns Result<T>; a failure always sets the caller's last error unless
// noted. LastError tells the dispatcher what CE does to the last error on success.
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "fsys/registry/hive.h"
#include "fsys/registry/key.h"
#include "fsys/root.h"
#include "common/result.h"
#include "kernel/core/address_window.h"
#include "kernel/core/copy_worker.h"
#include "kernel/core/handle_table.h"
#include "kernel/core/ids.h"
#include "kernel/core/namespace.h"
#include "kernel/diagnostics/diagnostics.h"
#include "kernel/core/memory_budget.h"
#include "kernel/objects/file_object.h"
#include "kernel/objects/mapping_object.h"
#include "kernel/objects/msgqueue_object.h"
#include "kernel/objects/mutex_object.h"
#include "kernel/objects/open_files.h"
#include "kernel/objects/process_object.h"
#include "kernel/objects/regkey_object.h"
#include "kernel/objects/thread_object.h"
#include "kernel/objects/waitable.h"
#include "kernel/personality/personality.h"
#include "protocol/ce_constants.h"
#include "protocol/request_codes.h"
#include "protocol/snapshot.h"

namespace cek::kernel {

// What a successful call does to the caller's last error.
struct LastError {
    bool set = false;
    Win32Error code = Win32Error::ERROR_SUCCESS;
    static LastError keep() { return {}; }
    static LastError to(Win32Error e) { return {true, e}; }
};

struct KernelConfig {
    uint64_t window_base = 0;
    uint64_t window_size = 0;
    uint32_t personality = 5;  // the CE major version (choose_personality): 5 or 6
    uint32_t handle_capacity = HandleTable::kMaxEntries;
    uint32_t max_processes = 4096;
    // Processes CreateProcessW can make room for, counting every application process: CE 5's
    // 32 slots less NK.exe's (ERROR_OUTOFMEMORY past them).
    uint32_t process_slots = ce::kCe5MaxProcesses;
    uint32_t trace_capacity = proto::kTraceCapacity;  // records kept for cedump trace (> 0)
    // Connections (kernel processes) one host process may hold at once (docs/semantics/
    // handles.md §6): the application, cedump and a few tools.
    uint32_t max_connections_per_host = 8;
    // Handle entries promised to every host process (HandleTable::set_fair_share); at most
    // handle_capacity / (2 * max_processes), so the promises never hold more than half the table.
    uint32_t handle_floor = 64;
    // Distinct handle entries one host process may reference (all its connections together).
    uint32_t handle_quota = HandleTable::kDefaultProcessQuota;
    // Bytes of searches and stored snapshots one process may make the kernel hold.
    size_t process_memory_limit = MemoryBudget::kDefaultLimit;
    // Background copies move their data on a worker thread (CopyWorker; cekernel does), so that
    // a disk stall holds up only the copier. Off, run_background() steps them on the kernel's
    // thread, a chunk per call: deterministic, for unit tests and fuzzers.
    bool copy_thread = false;
    // Bounded message queues get a shared ring that their clients move messages through
    // (protocol/msg_ring.h). Off, every queue keeps its messages in the kernel: the unit tests of
    // the kernel's own queue rules.
    bool msg_rings = true;
    // The registry (docs/decisions/0009-registry.md): the host directory of the system hive
    // (system.hv; the user hive is default/user.hv below it); empty keeps the registry in memory
    // only (RegFlushKey: ERROR_NOT_SUPPORTED). `registry_defaults` is a .reg file imported when
    // the system hive is new (first boot). `registry_flush_on_close`: RegCloseKey flushes, as
    // HKLM\init\BootVars\RegistryFlags bit 0 also asks at boot.
    std::string registry_dir;
    std::string registry_defaults;
    bool registry_flush_on_close = false;
};

// RegCreateKeyEx's result.
struct RegCreated {
    uint32_t hkey;
    bool created;  // REG_CREATED_NEW_KEY, else REG_OPENED_EXISTING_KEY
};

struct MapViewResult {
    uint64_t address;
    uint64_t map_base;  // the range to map: the mapping's, or the view's own (own_range)
    uint64_t map_length;
    uint64_t object_id;
    int kernel_fd;  // -1 unless this is the process's first view of the mapping
    bool writable;
    bool file_backed;
    uint64_t dev;
    uint64_t ino;
    bool own_range = false;    // CE 6's file views: map_length bytes of the file from file_offset
    uint64_t file_offset = 0;
    bool reused = false;       // CE 6: the caller's identical view; nothing to map
    bool revived = false;      // CE 6: a range the caller still holds (HeldRange); no descriptor
    bool pages_own = false;    // CE 6 RAM-backed: only the view's pages, with its protection
    bool view_writes = false;  // the view is read-write
    uint64_t view_length = 0;  // the view's length in bytes
};

// A range a client still holds mapped PROT_NONE from an earlier view of a file (a lingering
// range, protocol/messages.h): a CE 6 file view of the same mapping, offset, length and
// protection may take it again, and the client maps it back with mprotect.
struct HeldRange {
    uint64_t base;
    uint64_t length;
    uint64_t file_offset;
    uint64_t mapping;  // object id
    bool writable;
};

struct CreateFileArgs {
    std::u16string path;
    uint32_t access = 0;
    uint32_t share = 0;
    uint32_t disposition = 0;
    uint32_t flags_and_attributes = 0;
    bool for_mapping = false;  // CreateFileForMappingW
};

struct FileDescriptorResult {
    int fd;
    FileAccess access;
    bool kernel_owned;
    bool directory;
    uint64_t dev;
    uint64_t ino;
    uint32_t position;  // proto::position_ref in the caller's table, or 0: the description's
};

// A wait the kernel finished after its request was left pending (WaitObjects): `tag` is what
// the transport passed to wait(), `result` the WAIT_* value to reply with.
struct WaitCompletion {
    ProcessId process;
    uint64_t tag;
    uint32_t result;
    // Another call left pending and finished in the background (a CopyFileW): its request, and
    // its outcome instead of a WAIT_* value.
    proto::RequestCode code = proto::RequestCode::WaitObjects;
    Win32Error error = Win32Error::ERROR_SUCCESS;
    bool failed = false;
    // A parked ReadMsgQueue (code MsgQueueRead): the message's size as the reader gets it, its
    // flags, whether it was cut, and its first bytes (the rest is kept for the thread, see
    // take_read_rest). A parked WriteMsgQueue (code MsgQueueWrite) carries `msg_size` only.
    uint32_t msg_size = 0;
    uint32_t msg_flags = 0;
    bool msg_truncated = false;
    std::vector<std::byte> msg_data;
    // A CreateProcessW that waited for its program to attach (code ProcessCreate): the new
    // handles and ids. A held thread's AwaitResume (code ThreadControl): its id in
    // `thread_handle` and its tid (`result` is its count's sequence).
    uint32_t process_handle = 0;
    uint32_t thread_handle = 0;
    uint32_t thread_tid = 0;
    uint32_t process_id = 0;  // CreateProcessW: the new ids (CE 5: the handles)
    uint32_t thread_id = 0;
    // A SuspendThread or TerminateThread of another host process's thread (code
    // ThreadControl, `thread_handle` set): the count before and after the call.
    uint32_t thread_previous = 0;
    uint32_t thread_count = 0;
    bool thread_exited = false;
};

// A thread as a thread call leaves it: its id (CE 5: its handle value), the suspend count before the call
// and after it with the count's sequence (the shim applies counts in that order), its Linux tid
// (0 until a created thread starts) and whether it is gone.
struct ThreadState {
    uint32_t id = 0;
    uint32_t previous = 0;
    uint32_t count = 0;
    uint32_t sequence = 0;
    uint32_t tid = 0;
    bool exited = false;
    bool caller = false;  // the calling thread itself (a tid alone is not: PID namespaces)
    // The call waits for the target process's agent (ThreadRemote): answered later through
    // take_completions() with the caller's tag.
    bool deferred = false;
};

// A stop, start or end of a host thread that only its own process can carry out (its shim's
// agent thread, woken through take_pokes()): what to apply, and who waits for it.
struct RemoteControl {
    uint32_t token = 0;  // 0: nobody waits (a resume)
    ce::ThreadControlOp op{};
    ThreadState state;  // the thread's id, count and sequence as the call left them
    ProcessId caller{};
    uint64_t tag = 0;
    bool caller_waits = false;  // false once the caller withdrew its call or died
};

// GetDiskFreeSpaceExW, in bytes.
struct DiskSpace {
    uint64_t free_to_caller;
    uint64_t total;
    uint64_t total_free;
};

// ReadMsgQueue's message: its bytes up to the reader's buffer, its flags, and whether the rest
// was dropped (a buffer smaller than the message: TRUE with ERROR_INSUFFICIENT_BUFFER).
struct MsgQueueMessage {
    std::vector<std::byte> data;
    uint32_t flags = 0;
    bool truncated = false;
    MemoryBudget::Charge charge;  // the bytes stay charged until the reader has them all
};

// A queue end's ring for its client (Kernel::msg_queue_ring).
struct MsgRingGrant {
    bool reader = false;
    const MsgRingMemory* ring = nullptr;  // null: the messages stay in the kernel
    uint64_t queue_id = 0;
    uint32_t max_messages = 0;
    uint32_t max_bytes = 0;
};

// GetMsgQueueInfo.
struct MsgQueueInfo {
    uint32_t flags;
    uint32_t max_messages;  // 0: unlimited
    uint32_t max_bytes;
    uint32_t current;
    uint32_t high_water;
    uint16_t readers;
    uint16_t writers;
};

// CreateProcessW's arguments as the caller passed them (ce-kernel-objects.md §1.1).
struct CreateProcessArgs {
    std::optional<std::u16string> image;  // nullopt: a NULL pszImageName
    std::u16string command_line;          // a NULL pszCmdLine is an empty one
    bool inherit_handles = false;
    uint32_t flags = 0;
    bool environment = false;  // pvEnvironment was not NULL
    bool current_dir = false;  // pszCurDir was not NULL
    bool command_overflow = false;  // the command line is longer than any the kernel takes
};

// A program for the transport to start (Kernel::set_launcher): `argv[0]` is the host program
// to exec; `env` is added to the kernel's environment (NAME=value).
struct LaunchSpec {
    std::vector<std::string> argv;
    std::vector<std::string> env;
    // A CE program: the transport hands it a connection to the kernel, made before it runs,
    // and connects it to the process once create_process has made it (child_by_pid).
    bool connect = false;
};
// What the transport started: the host pid, and the host key its connections will have
// (attach_process's `host`).
struct Launched {
    int pid;
    uint32_t host;
};

// CreateProcessW's result: the caller's handles on the new process and its primary thread, and
// their ids (CE 5: the same values).
struct ProcessCreated {
    HandleValue process;
    HandleValue thread;
    uint32_t process_id = 0;
    uint32_t thread_id = 0;
};

// CreateThread's result: the creator's handle and the thread's id (CE 5: the same value).
struct ThreadCreated {
    HandleValue handle;
    uint32_t id = 0;
};

struct UnmapResult {
    uint64_t release_base = 0;  // the mapping's range when the process's last view of it went,
    uint64_t release_length = 0;  // or a CE 6 file view's own range
    uint64_t forget_object = 0;   // CE 6: the mapping of which the process has no view left
    uint64_t flush_base = 0;    // CE 6: the view, for the caller to write back (0: nothing to)
    uint64_t flush_length = 0;
    uint64_t view_length = 0;   // CE 6 RAM-backed: the view that went, for the caller to protect
    bool view_writes = false;   // its pages again from its other views (0: no view went)
};

// FlushViewOfFile: the range the caller writes back in its own address space (CE 6); empty when
// there is nothing to write or the kernel has written it (CE 5).
struct FlushRange {
    uint64_t base = 0;
    uint64_t length = 0;
};

class Kernel : private MutexWordHost {
public:
    // `root` is the CE file system; without one every file call fails with ERROR_NOT_SUPPORTED.
    // Throws std::invalid_argument for a personality that does not exist (choose_personality).
    explicit Kernel(KernelConfig config, std::unique_ptr<fsys::Root> root = nullptr);
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    const KernelConfig& config() const { return config_; }
    const Personality& personality() const { return *personality_; }

    // Processes. ERROR_NOT_ENOUGH_MEMORY when max_processes are attached, or when host process
    // `host` already holds max_connections_per_host live ones (those the liveness probe calls
    // gone, their hang-up not yet read, do not count). The handle quota is per host process.
    // `host` names the host process for quotas: the server gives each host process a key of its
    // own that no later process reuses (Server::host_of); `pid` is only shown (0 for a peer in a
    // PID namespace the kernel cannot see into). Without `host` the key is the pid.
    Result<ProcessId> attach_process(int pid, std::string executable, bool diagnostics,
                                     std::optional<uint32_t> host = std::nullopt);
    // Kernel processes attached for host process key `host` (gone or not).
    size_t connections_of(uint32_t host) const;
    // CE 5 clean-up order: drop the process's views, then close every handle it holds.
    void detach_process(ProcessId process);
    bool process_alive(ProcessId process) const { return processes_.count(process) != 0; }
    // The host pid of an attached process, or 0.
    int pid_of(ProcessId process) const;

    // A text too long for one request (a registry path, a command line) arrives first, in parts
    // staged for the calling thread (StageText) and charged to its process's memory budget;
    // `offset` 0 starts anew. ERROR_INVALID_PARAMETER for an unknown purpose, a `total` over the
    // purpose's longest or a part out of order (the staging is dropped), ERROR_OUTOFMEMORY past
    // the budget. Returns the units staged.
    // take_staged_text hands over the thread's whole staged text and drops it;
    // ERROR_INVALID_PARAMETER when there is none for `purpose` or it is not complete.
    Result<uint32_t> stage_text(ThreadRef caller, uint32_t purpose, uint32_t total,
                                uint32_t offset, std::u16string_view part);
    Result<std::u16string> take_staged_text(ThreadRef caller, uint32_t purpose);

    // CloseHandle. ERROR_INVALID_HANDLE when the caller holds no reference on `handle`.
    Result<void> close_handle(ProcessId caller, HandleValue handle);

    // CreateFileMappingW, CE 5 order of checks (docs/semantics/mappings.md §2).
    Result<HandleValue> create_mapping(ProcessId caller, HandleValue file, uint32_t protect,
                                       uint32_t size_high, uint32_t size_low,
                                       const std::u16string* name, LastError& last_error);
    // MapViewOfFile (mappings.md §3). Last error untouched on success, except CE 6's reuse of
    // an identical view (MapViewResult::reused: ERROR_ALREADY_EXISTS).
    Result<MapViewResult> map_view(ProcessId caller, HandleValue mapping, uint32_t access,
                                   uint32_t offset_high, uint32_t offset_low, uint64_t size,
                                   std::span<const HeldRange> held = {});
    // UnmapViewOfFile (mappings.md §4): the exact address of a view of the caller.
    // CE 5's global view (docs/semantics/mappings.md §9): the caller touched `address` without a
    // view. The live mapping whose range holds it, with its descriptor to map (kernel_fd, always),
    // and the caller recorded as one that maps it. ERROR_INVALID_ADDRESS when none.
    Result<MapViewResult> touch_window(ProcessId caller, uint64_t address);
    // A process must make a dead mapping's range it touched inaccessible: the server posts it
    // to the process (protocol/channel.h, Shootdowns) and calls let_go_range once it has.
    using ShootdownHook = std::function<void(ProcessId, uint64_t base, uint64_t length)>;
    void set_shootdown(ShootdownHook hook) { shootdown_ = std::move(hook); }
    void let_go_range(ProcessId process, uint64_t base) { window_.let_go(process, base); }
    Result<UnmapResult> unmap_view(ProcessId caller, uint64_t address);
    // Takes back the view map_view just made at `address` when its descriptor could not be
    // sent: as an unmap, and the process is known not to hold the mapping's descriptor.
    void undo_view(ProcessId caller, uint64_t address);
    // FlushViewOfFile (mappings.md §5): any address inside any mapping. nullopt: fail without
    // an error.
    std::optional<Result<FlushRange>> flush_view(ProcessId caller, uint64_t address, uint64_t size);

    // Huge reservations (kernel_vmem.cpp; docs/semantics/vmem.md): a range of the window for
    // the caller alone (ERROR_OUTOFMEMORY when the size is outside [2 MiB, 960 MiB] or the window
    // has no room), and its release by the caller (ERROR_INVALID_PARAMETER for any address that
    // is not the base of one of the caller's). A detaching process's reservations are released.
    struct HugeReservation {
        uint64_t address;
        uint64_t length;
    };
    Result<HugeReservation> reserve_huge(ProcessId caller, uint64_t length);
    Result<void> release_huge(ProcessId caller, uint64_t address);
    // The caller's huge reservations: base -> length (empty for an unknown process).
    std::map<uint64_t, uint64_t> huge_reservations(ProcessId process) const;

    // Files (kernel_files.cpp). CreateFileW and CreateFileForMappingW (CE 5: kernel-owned).
    Result<HandleValue> create_file(ProcessId caller, const CreateFileArgs& args,
                                    LastError& last_error);
    // The descriptor behind a file handle the caller may use.
    // With `keep_position` the caller may keep the file's position in its table.
    Result<FileDescriptorResult> file_descriptor(ProcessId caller, HandleValue file,
                                                 bool keep_position = false);
    // The caller's table of file positions (made at its first call), or null when none could
    // be made (docs/decisions/0015-file-position.md).
    Result<const PositionTable*> file_positions(ProcessId caller);
    Result<uint64_t> set_end_of_file(ProcessId caller, HandleValue file);
    Result<fsys::FileInfo> file_info(ProcessId caller, HandleValue file);
    Result<void> set_file_time(ProcessId caller, HandleValue file, std::optional<uint64_t> creation,
                               std::optional<uint64_t> last_access,
                               std::optional<uint64_t> last_write);
    Result<uint32_t> get_attributes(std::u16string_view path);
    Result<void> set_attributes(std::u16string_view path, uint32_t attributes);
    Result<void> delete_file(std::u16string_view path);
    Result<void> move_file(std::u16string_view from, std::u16string_view to);
    // CopyFileW. Completes now (every error, and a copy that fits in one chunk) or, with
    // nullopt, goes on in the background: run_background() copies a chunk at a time between
    // requests, meanwhile the copy counts as an open of both names (sharing, delete, move), and
    // it completes through take_completions() with `tag` (code MovePath). A process that dies
    // first leaves nothing behind: its copies stop and their temporaries go.
    std::optional<Result<void>> copy_file(ProcessId caller, std::u16string_view from,
                                          std::u16string_view to, bool fail_if_exists,
                                          uint64_t tag);
    // Bytes a background copy moves per step (each step costs a neighbour at most this much).
    static constexpr uint64_t kCopyChunk = uint64_t{256} << 10;
    Result<void> create_directory(std::u16string_view path);
    Result<void> remove_directory(std::u16string_view path);
    Result<HandleValue> find_first(ProcessId caller, std::u16string_view pattern,
                                   fsys::FindEntry& first);
    Result<fsys::FindEntry> find_next(ProcessId caller, HandleValue search);
    Result<void> find_close(ProcessId caller, HandleValue search);
    // GetFileAttributesExW: attributes, size and times by path, in one lookup.
    Result<fsys::FileInfo> path_info(std::u16string_view path);
    // GetDiskFreeSpaceExW: space on the host volume holding `directory` ("" for the root).
    Result<DiskSpace> disk_space(std::u16string_view directory);

    // Synchronization (kernel_sync.cpp; CE 5: per-kind namespaces, case-sensitive names).
    // Create*: a name already used by the same kind opens that object (same value,
    // ERROR_ALREADY_EXISTS in `last_error`, other arguments ignored).
    Result<HandleValue> create_event(ProcessId caller, bool manual_reset, bool initial_state,
                                     const std::u16string* name, LastError& last_error);
    Result<HandleValue> create_mutex(ThreadRef caller, bool initial_owner,
                                     const std::u16string* name, LastError& last_error);
    Result<HandleValue> create_semaphore(ProcessId caller, int32_t initial, int32_t maximum,
                                         const std::u16string* name, LastError& last_error);
    // OpenEventW and friends: ERROR_FILE_NOT_FOUND when no object of `type` has the name.
    Result<HandleValue> open_sync(ProcessId caller, ObjectType type, const std::u16string& name);
    Result<void> set_event(ProcessId caller, HandleValue event, ce::EventOp op);
    Result<void> release_mutex(ThreadRef caller, HandleValue mutex);
    // MutexWord: gives the caller the mutex's shared word (made on the first ask); null when
    // there is no memory for one (the kernel keeps the state).
    Result<const MutexObject*> mutex_word(ProcessId caller, HandleValue mutex);
    // Hands mutexes the kernel took over back to their words where no thread waits (after every
    // request and every event that can end a wait; cheap when there are none).
    void publish_mutex_words();
    // Returns the previous count.
    Result<int32_t> release_semaphore(ProcessId caller, HandleValue semaphore, int32_t count);
    // DuplicateHandle, the personality's rules (docs/semantics/handles.md).
    Result<HandleValue> duplicate_handle(ThreadRef caller, uint32_t source_process,
                                         HandleValue handle, uint32_t target_process,
                                         uint32_t options, bool inherit);

    // Threads (kernel_threads.cpp; ce-kernel-objects.md §2, docs/semantics/threads.md). CE 5: a
    // thread handle is its id and global, so any attached process may name any thread; CE 6: a
    // handle is the caller's own and the id (even) is not a handle. The pseudo-handle
    // GetCurrentThread() names the caller, adopted on first need.
    // CreateThread: ERROR_INVALID_PARAMETER for flags other than CREATE_SUSPENDED and
    // STACK_SIZE_PARAM_IS_A_RESERVATION or a reservation <= 0; ERROR_NOT_ENOUGH_MEMORY without
    // room for the handle. The caller gets one reference; the thread's own, which keeps the id
    // valid until it exits, is the kernel's (process 0). Adopted threads have only that one.
    Result<ThreadCreated> create_thread(ProcessId caller, uint32_t flags, uint32_t stack_size);
    // A created thread's first call (`created` is its id: binds the caller's tid), or with 0
    // the caller's own identity (adopting it if new).
    Result<ThreadState> attach_thread(ThreadRef caller, HandleValue created);
    // ExitThread / return from the thread function: the code is recorded (first one wins), the
    // thread's mutexes are abandoned, its waiters wake and its own reference goes.
    void exit_thread(ThreadRef caller, uint32_t code);
    // SuspendThread / ResumeThread: previous count; ERROR_SIGNAL_REFUSED at 127,
    // ERROR_INVALID_HANDLE for an unknown or exited thread. A thread of another host process is
    // stopped and started by that process's agent (RemoteControl): a suspend with a `tag` is
    // then deferred until the agent has parked the thread; ERROR_BUSY when the target has
    // kMaxRemoteControls queued, ERROR_ACCESS_DENIED when it runs no agent (agent_ready).
    Result<ThreadState> suspend_thread(ThreadRef caller, HandleValue handle,
                                       std::optional<uint64_t> tag = std::nullopt);
    Result<ThreadState> resume_thread(ThreadRef caller, HandleValue handle);
    // TerminateThread: the thread exits with `code` now (unless it already had), its parked
    // wait fails with ERROR_OPERATION_ABORTED. The shim stops the host thread (the target's
    // agent for another host process, deferred as for a suspend). Another process's primary
    // thread takes its process along, with `code` (CE: a process ends with its primary thread).
    Result<ThreadState> terminate_thread(ThreadRef caller, HandleValue handle, uint32_t code,
                                         std::optional<uint64_t> tag = std::nullopt);
    // ThreadRemote, for the agent of process `agent`: the next control queued for it
    // (ERROR_NO_MORE_ITEMS when none), and the report that the one with `token` is carried out
    // (ERROR_INVALID_PARAMETER for a token it was not given), which answers its caller.
    Result<RemoteControl> take_remote_control(ProcessId agent);
    // The process's agent can be woken from now on (its connection has the notice eventfd):
    // until then, and for a process that never connects, its threads cannot be stopped from
    // another process (ERROR_ACCESS_DENIED).
    void agent_ready(ProcessId id);
    Result<void> remote_control_done(ProcessId agent, uint32_t token);
    static constexpr size_t kMaxRemoteControls = 1024;
    // Processes whose agent has controls to take: the server rings their notice eventfd.
    bool has_pokes() const { return !pokes_.empty(); }
    std::vector<ProcessId> take_pokes() { return std::exchange(pokes_, {}); }
    // The calling thread, held in the kernel (the primary thread of a program created
    // suspended), waits until its suspend count is 0: now, or later (nullopt) through
    // take_completions() with `tag` (code ThreadControl). ERROR_INVALID_PARAMETER for a thread
    // that is not held.
    std::optional<Result<ThreadState>> await_resume(ThreadRef caller, uint64_t tag);
    // GetExitCodeThread: STILL_ACTIVE until the thread is gone.
    Result<uint32_t> thread_exit_code(ThreadRef caller, HandleValue handle);
    // Get/SetThreadPriority, CeGet/CeSetThreadPriority, CeGet/CeSetThreadQuantum (§2.3). Set
    // operations return 1.
    Result<uint32_t> thread_priority(ThreadRef caller, HandleValue handle, ce::ThreadOp op,
                                     uint32_t value);

    // Processes (kernel_processes.cpp; ce-kernel-objects.md §1, docs/semantics/processes.md).
    // Every application process has a ProcessObject, held by the kernel's own handle, whose
    // value is its id (CE 5; CE 6: with bit 0 clear); the pseudo-handle GetCurrentProcess()
    // names the caller. CE 5: process handles are global like thread handles, any attached
    // process may name any process by its id; CE 6: handles are the caller's own.
    // The id of an attached process (0 for a diagnostics connection or an unknown process).
    uint32_t process_id(ProcessId process) const;
    // The kernel's own handle on an attached process (CE 5: its id, which any process may use).
    HandleValue process_handle(ProcessId process) const;
    // OpenThread (CE 6): as OpenProcess, for a thread id. GetThreadId, GetProcessId and
    // GetProcessIdOfThread (CE 6): the id behind a handle of the caller (the pseudo-handles
    // included), ERROR_INVALID_HANDLE when it is not one of that kind. CE 5 has none of them:
    // ERROR_CALL_NOT_IMPLEMENTED.
    Result<HandleValue> open_thread(ProcessId caller, uint32_t id, bool inherit);
    Result<uint32_t> id_of_handle(ThreadRef caller, HandleValue handle, ce::IdQuery what);
    // CreateProcessW, CE 5 order of checks: ERROR_INVALID_PARAMETER (NULL or too long image
    // name, fInheritHandles, an unknown flag, an environment or a current directory),
    // ERROR_OUTOFMEMORY (31 processes, no handle), ERROR_FILE_NOT_FOUND (§1.2's search),
    // ERROR_BAD_EXE_FORMAT (not an ELF program or a #! script), ERROR_ACCESS_DENIED (the host
    // may not run it). A CE program (linked with libcoredll) leaves the call pending (nullopt)
    // until it has loaded (program_loaded) or it dies first (ERROR_DLL_INIT_FAILED): it
    // completes
    // through take_completions() with `tag` (code ProcessCreate). Another program completes at
    // once. The caller gets a reference on the process and one on its primary thread.
    std::optional<Result<ProcessCreated>> create_process(ThreadRef caller,
                                                         const CreateProcessArgs& args,
                                                         uint64_t tag);
    // Starts the programs CreateProcessW asks for; without one CreateProcessW fails with
    // ERROR_NOT_SUPPORTED.
    void set_launcher(std::function<Result<Launched>(const LaunchSpec&)> launcher) {
        launcher_ = std::move(launcher);
    }
    // The host process the kernel started for `process` has ended with wait status `status`
    // (the transport reaped it): the exit code, unless one was recorded, comes from it.
    // The transport detaches the process's connection first, if it has one.
    void child_exited(ProcessId process, int status);
    // The process the kernel started as host pid `pid`, until it is reaped.
    std::optional<ProcessId> child_by_pid(int pid) const;
    // A program create_process started: the state of its primary thread, which the transport
    // hands it with its connection (what ThreadAttach would answer).
    Result<ThreadState> primary_thread_state(ProcessId child);
    // The started program `child` has loaded (its shim rang its doorbell): its creator's
    // CreateProcessW completes. Nothing when no creation of it is pending.
    void program_loaded(ProcessId child);
    // The kernel records these exit codes before the host process ends: ExitProcess and the
    // end of main (first recorded wins).
    void exit_process(ProcessId caller, uint32_t code);
    // OpenProcess: ERROR_INVALID_PARAMETER for fInherit or an id that is no process; else
    // another handle for the caller (CE 5: the same value, one more reference).
    Result<HandleValue> open_process(ProcessId caller, uint32_t id, bool inherit);
    // TerminateProcess: ERROR_INVALID_HANDLE (no such process), ERROR_ACCESS_DENIED (already
    // exiting, or the caller itself: CE 5 fails the call and ends the caller). The code is
    // recorded and the process killed (set_killer); the shim waits up to 3 s for its end.
    // True when the target is the caller itself (CE 6; CE 5 fails that call, and the shim ends
    // the caller either way).
    Result<bool> terminate_process(ProcessId caller, HandleValue process, uint32_t code);
    // GetExitCodeProcess: STILL_ACTIVE until the process is gone.
    Result<uint32_t> process_exit_code(ProcessId caller, HandleValue process);
    // How TerminateProcess kills a process (the transport has its pidfd); false when it cannot.
    void set_killer(std::function<bool(ProcessId)> killer) { killer_ = std::move(killer); }
    // Whether a host process's Linux thread ids are the kernel's own, so that a mutex word may
    // name them (default: the same PID namespace). Tests with made-up pids replace it.
    void set_thread_id_check(std::function<bool(int pid)> check) {
        thread_ids_are_ours_ = std::move(check);
    }

    // Message queues (kernel_msgqueue.cpp; ce-kernel-objects.md §5, docs/semantics/msgqueue.md).
    // CreateMsgQueue: `options_size` is MSGQUEUEOPTIONS.dwSize; the last error is set on every
    // success (0, or ERROR_ALREADY_EXISTS when a named end or its queue existed).
    Result<HandleValue> create_msg_queue(ProcessId caller, const std::u16string* name,
                                         uint32_t options_size, MsgQueueOptions options,
                                         bool read_access, LastError& last_error);
    // OpenMsgQueue: `queue` in the handle space of `source_process` (GetCurrentProcess() or a
    // process id, which CE 5 process handles equal).
    Result<HandleValue> open_msg_queue(ProcessId caller, uint32_t source_process,
                                       HandleValue queue, uint32_t options_size, bool read_access);
    // WriteMsgQueue and ReadMsgQueue never block: a full (empty) queue gives ERROR_TIMEOUT, what
    // CE answers for a zero timeout; a caller with time left waits on the handle (the writer
    // end is ready while there is room, the reader end while a message is there) and tries
    // again. `data` is moved into the queue on success only.
    Result<void> write_msg_queue(ThreadRef caller, HandleValue queue, std::vector<std::byte>& data,
                                 uint32_t flags);
    Result<MsgQueueMessage> read_msg_queue(ThreadRef caller, HandleValue queue, uint32_t capacity);
    // The same calls with a time-out: an empty (full) queue and a non-zero `timeout_ms` park the
    // call (nullopt) on the queue end, like a wait with `tag`; it completes through
    // take_completions() (code MsgQueueRead / MsgQueueWrite) once the queue is ready, with the
    // message or the write's outcome, or with ERROR_TIMEOUT. A completed read carries its first
    // `first_part` bytes; the rest is kept for take_read_rest. A zero timeout answers
    // ERROR_TIMEOUT at once.
    std::optional<Result<MsgQueueMessage>> read_msg_queue(ThreadRef caller, HandleValue queue,
                                                          uint32_t capacity, uint32_t timeout_ms,
                                                          uint64_t tag, uint32_t first_part);
    std::optional<Result<void>> write_msg_queue(ThreadRef caller, HandleValue queue,
                                                std::vector<std::byte>& data, uint32_t flags,
                                                uint32_t timeout_ms, uint64_t tag);
    std::optional<Result<void>> write_staged_msg(ThreadRef caller, HandleValue queue,
                                                 uint32_t flags, uint32_t timeout_ms,
                                                 uint64_t tag);
    // The ring of a queue end the caller holds (its first use of the handle): null storage when
    // the queue keeps its messages here. ERROR_INVALID_HANDLE for anything but a queue end.
    Result<MsgRingGrant> msg_queue_ring(ProcessId caller, HandleValue queue);
    // A client changed a ring that kernel waits watch: the queue's waiters look again.
    Result<void> notify_msg_queue(ProcessId caller, HandleValue queue);
    // GetMsgQueueInfo on either end; `info_size` is MSGQUEUEINFO.dwSize.
    Result<MsgQueueInfo> msg_queue_info(ProcessId caller, HandleValue queue, uint32_t info_size);
    // Messages larger than one channel slot travel in parts (docs/decisions/0007): a writer
    // stages its message at increasing offsets, then writes it (write_staged_msg, repeated
    // after each wait while the queue is full); a reader takes what did not fit in its first
    // reply from its thread's staging. One staging per thread, charged while it is held.
    // stage_msg_part returns the bytes staged; offset 0 starts a new message (after the checks
    // WriteMsgQueue makes before it would wait: the handle and cbMaxMessage).
    Result<uint32_t> stage_msg_part(ThreadRef caller, HandleValue queue, uint32_t total,
                                    uint32_t offset, std::span<const std::byte> part);
    Result<void> write_staged_msg(ThreadRef caller, HandleValue queue, uint32_t flags);
    // Keeps the part of a read message from `offset` on for the thread to fetch.
    void keep_read_rest(ThreadRef caller, HandleValue queue, MsgQueueMessage message,
                        uint32_t offset);
    // Copies the kept bytes from `offset` into `out`; returns how many. The staging goes once
    // all are taken. ERROR_INVALID_PARAMETER when nothing is kept at that offset.
    Result<uint32_t> take_read_rest(ThreadRef caller, HandleValue queue, uint32_t offset,
                                    std::span<std::byte> out);
    // Drops a thread's staging (a write that gave up).
    void drop_msg_staging(ThreadRef caller);

    // Registry (kernel_registry.cpp; ce-kernel-objects.md §6, docs/semantics/registry.md). An
    // `hkey` is one of the four roots or a key handle the caller holds (else
    // ERROR_INVALID_HANDLE). Registry calls return their code and never set the last error.
    // open_registry loads the hives (importing the defaults on first boot); false with `error`
    // when a hive cannot be opened or the defaults do not parse. save_registry flushes both.
    bool open_registry(std::string& error);
    Result<void> save_registry();
    const fsys::registry::Tree& registry() const { return registry_; }
    fsys::registry::Tree& registry() { return registry_; }
    Result<RegCreated> reg_create_key(ProcessId caller, uint32_t hkey, std::u16string_view subkey,
                                      std::u16string_view class_name, uint32_t options);
    Result<uint32_t> reg_open_key(ProcessId caller, uint32_t hkey, std::u16string_view subkey);
    Result<void> reg_close_key(ProcessId caller, uint32_t hkey);
    Result<const fsys::registry::Value*> reg_query_value(ProcessId caller, uint32_t hkey,
                                                         std::u16string_view name);
    Result<void> reg_set_value(ProcessId caller, uint32_t hkey, std::u16string_view name,
                               uint32_t type, std::span<const std::byte> data);
    // A value too large for one request arrives in parts: each is staged for the calling
    // thread at `offset` (0 starts anew); once `total` bytes are there the value is set.
    // Returns the bytes staged, or `total` once set.
    Result<uint32_t> reg_set_value_part(ThreadRef caller, uint32_t hkey, std::u16string_view name,
                                        uint32_t type, uint32_t total, uint32_t offset,
                                        std::span<const std::byte> part);
    Result<void> reg_delete_key(ProcessId caller, uint32_t hkey, std::u16string_view subkey);
    Result<void> reg_delete_value(ProcessId caller, uint32_t hkey, std::u16string_view name);
    Result<const fsys::registry::Key*> reg_enum_key(ProcessId caller, uint32_t hkey, uint32_t index);
    Result<const fsys::registry::Value*> reg_enum_value(ProcessId caller, uint32_t hkey,
                                                        uint32_t index);
    Result<fsys::registry::KeyInfo> reg_query_info(ProcessId caller, uint32_t hkey,
                                                   std::u16string& class_name);
    Result<void> reg_flush_key(ProcessId caller, uint32_t hkey);
    // The key behind `hkey` for the caller (also for cedump's export).
    Result<fsys::registry::KeyRef> reg_key(ProcessId caller, uint32_t hkey);

    // WaitForMultipleObjects. Completes now (WAIT_OBJECT_0 + i, WAIT_ABANDONED + i, or
    // WAIT_TIMEOUT for a zero timeout) or, with nullopt, leaves the wait pending: it completes
    // later through take_completions() with the same `tag`, or is dropped by cancel_wait() or
    // the caller's death. `tag` must be unique among the caller's pending waits.
    std::optional<Result<uint32_t>> wait(ThreadRef caller, std::span<const HandleValue> handles,
                                         bool wait_all, uint32_t timeout_ms, uint64_t tag);
    void cancel_wait(ProcessId caller, uint64_t tag);
    // Every wait on an object that changes outside the kernel (a queue's ring) looks again.
    void recheck_outside_waits();
    // Times out every pending wait whose deadline (CLOCK_MONOTONIC ns) is at or before `now`.
    void expire_waits(uint64_t now_ns);
    // The earliest deadline of a pending wait, or nullopt.
    std::optional<uint64_t> next_wait_deadline() const;
    bool has_completions() const { return !completions_.empty(); }
    // Work that goes on between requests (background copies). The transport calls
    // run_background() each round while has_background_work(). With the copy thread it
    // finishes the copies whose data the worker has moved (and background_fd() turns readable
    // when there are some: for epoll); without, it takes steps, round robin over the jobs, until
    // `budget_ns` has passed (at least one). It returns how many steps or copies it took.
    // Finished copies complete through take_completions().
    bool has_background_work() const {
        return copy_worker_ ? copy_worker_->has_finished() : !copies_.empty();
    }
    size_t run_background(uint64_t budget_ns);
    int background_fd() const { return copy_worker_ ? copy_worker_->ready_fd() : -1; }
    size_t background_copies() const { return copies_.size(); }
    // Process death: its background work stops and leaves nothing behind.
    void cancel_background(ProcessId process);
    std::vector<WaitCompletion> take_completions() { return std::exchange(completions_, {}); }
    size_t pending_waits() const { return waits_.size(); }
    // Calls waiting for another process's agent (SuspendThread, TerminateThread).
    size_t pending_remote_controls() const;

    // Diagnostics. A `full` snapshot is what cedump shows. A `structure` snapshot leaves out each
    // object's details (describe() and the file attributes, which ask the host for paths, sizes
    // and attributes): the processes, handles, references, objects and views that a caller
    // checking every step compares, at a fraction of the cost.
    enum class SnapshotDepth { full, structure };
    // At most `max_handles` handle entries (and their objects) are listed; the processes
    // still report how many handles they hold.
    proto::Snapshot snapshot(SnapshotDepth depth = SnapshotDepth::full,
                             size_t max_handles = SIZE_MAX) const;
    // cedump's Snapshot request: a full snapshot of at most kSnapshotMaxHandles handles, encoded
    // and kept for `caller` to read in chunks (replacing its previous one), charged to its
    // MemoryBudget. Returns its size. ERROR_NOT_ENOUGH_MEMORY past the budget; ERROR_INVALID_HANDLE
    // for a caller that is not attached.
    static constexpr size_t kSnapshotMaxHandles = 4096;
    Result<uint64_t> freeze_snapshot(ProcessId caller);
    void store_snapshot(ProcessId caller, std::vector<std::byte> bytes);
    const std::vector<std::byte>* stored_snapshot(ProcessId caller) const;

    // Where a process's channel stands ("idle", "busy 2"), asked of the transport at snapshot
    // time only; without a probe the snapshot says "attached".
    void set_channel_probe(std::function<std::string(ProcessId)> probe) {
        channel_probe_ = std::move(probe);
    }

    // Whether a process is still there, asked of the transport before a signal is spent on one
    // of its waits: a process that died a moment ago is detached only once its hang-up is read,
    // and its wait must not take an auto-reset event, a mutex or a semaphore count meanwhile.
    // Without a probe every attached process counts as alive.
    void set_liveness_probe(std::function<bool(ProcessId)> alive) { liveness_probe_ = std::move(alive); }

    // The trace ring and the callers' frozen snapshots (diagnostics/diagnostics.h).
    Diagnostics& diagnostics() { return diagnostics_; }
    MemoryBudget& memory_budget() { return memory_budget_; }

    size_t handle_count() const { return handles_.size(); }
    size_t process_count() const { return processes_.size(); }
    HandleTable& handles() { return handles_; }
    AddressWindow& window() { return window_; }

private:
    struct View {
        Ref<MappingObject> mapping;
        HandleValue handle;  // the mapping handle the view holds a reference on
        uint64_t offset;
        uint64_t size;
        uint32_t access;
        uint64_t range_base = 0;  // CE 6's file views: the view's own range (0: the mapping's)
        uint64_t range_length = 0;
        uint32_t uses = 1;  // CE 6: MapViewOfFile calls that returned this view, each unmapped
        bool carried_fd = false;  // CE 6: the mapping's descriptor went to the client with it
    };
    // CE 6: what makes two views of one process the same view (mappings.md §3).
    struct ViewKey {
        uint64_t mapping;  // object id
        uint64_t offset;
        uint64_t size;
        uint32_t access;
        auto operator<=>(const ViewKey&) const = default;
    };
    // A ReadMsgQueue or WriteMsgQueue parked on a queue end: what to do once it is ready.
    struct MsgOp {
        bool read = false;
        uint32_t capacity = 0;    // reads: the reader's buffer
        uint32_t first_part = 0;  // reads: bytes the completion carries
        uint32_t flags = 0;       // writes: MSGQUEUE_MSGALERT
        bool staged = false;      // writes: the thread's staged message
        std::vector<std::byte> data;  // writes: the message
    };
    struct Wait {
        ThreadRef thread;
        uint64_t tag;
        std::vector<Ref<Waitable>> objects;  // keep the objects alive while waited on
        std::vector<HandleValue> handles;    // as passed, for diagnostics
        uint32_t timeout_ms;
        uint64_t since_ns;                   // CLOCK_MONOTONIC
        std::optional<uint64_t> deadline;    // CLOCK_MONOTONIC ns; none for INFINITE
        std::optional<MsgOp> msg;            // a parked message-queue call, not a wait
    };
    // A message larger than one slot on its way in (a write) or out (a read's rest).
    struct MsgStaging {
        HandleValue queue;
        bool write = false;
        uint32_t total = 0;  // the message's size (writes); what is kept (reads)
        uint32_t done = 0;   // bytes staged (writes) or already taken (reads)
        MsgQueueMessage message;
    };
    // A text longer than one request, on its way in (stage_text).
    struct TextStaging {
        uint32_t purpose = 0;
        std::u16string text;
        uint32_t total = 0;
        MemoryBudget::Charge charge;
    };
    struct Process {
        ProcessId id;
        int pid;
        uint32_t host;  // the host process's key (attach_process)
        std::string executable;
        uint64_t attach_time_ns;
        bool diagnostics;
        std::multimap<uint64_t, View> views;             // by address
        std::map<ViewKey, uint64_t> view_keys;          // CE 6: each view's address
        std::unordered_map<uint64_t, uint32_t> mapped;  // object id -> views in this process
        std::set<uint64_t> fds_held;  // CE 6: mappings whose descriptor the client keeps
        std::set<uint64_t> touched;  // window bases of mappings it touched by address (CE 5)
        std::vector<HandleValue> cffm;  // CreateFileForMapping handles not yet taken over
        // CE 6: mapping handle -> the CreateFileForMapping handle closed along with it.
        std::unordered_map<uint32_t, HandleValue> cffm_links;
        bool cffm_warned = false;  // CE 6: the deprecation of CreateFileForMappingW was logged
        std::unordered_map<uint64_t, uint64_t> waits;  // tag -> wait id
        // Mutexes the kernel holds the state of and one of its threads owns: object id -> mutex.
        std::unordered_map<uint64_t, Ref<MutexObject>> owned_mutexes;
        std::set<uint64_t> mutex_words;  // ids of the mutexes whose word it was given
        Ref<PositionTable> positions;    // its table of file positions, once it asked
        std::optional<bool> own_thread_ids;  // its Linux thread ids are the kernel's (asked once)
        std::map<uint64_t, uint64_t> huge;  // huge reservations: base -> length
        std::unordered_map<uint32_t, MsgStaging> msg_staging;  // tid -> its large message
        std::unordered_map<uint32_t, std::vector<std::byte>> reg_staging;  // tid -> a large value
        std::unordered_map<uint32_t, TextStaging> text_staging;  // tid -> a long text
        std::map<uint32_t, Ref<ThreadObject>> threads;  // live threads by handle value
        std::unordered_map<uint32_t, uint32_t> thread_by_tid;  // Linux tid -> handle value
        Ref<ProcessObject> object;  // none for a diagnostics connection
        bool agent = false;  // its agent thread can be woken (agent_ready)
        std::deque<RemoteControl> remote;  // for its agent to take, in order
        std::unordered_map<uint32_t, RemoteControl> remote_taken;  // by token, callers waiting
    };
    // A process CreateProcessW started that has not loaded yet (program_loaded).
    struct Spawn {
        ThreadRef creator;
        uint64_t tag;
        bool creator_waiting = true;  // false once the creator died
        ProcessCreated created;
    };

    Process* process(ProcessId id);
    // attach_process without the process object (create_process gives its own).
    Result<ProcessId> attach_record(int pid, std::string executable, bool diagnostics,
                                    uint32_t host);
    // Finishes the close of a handle entry that died: drops its name.
    void entry_died(const Ref<KernelObject>& object);
    // Drops one reference (or, with `all`, every reference) of `process` on `handle`.
    void release(HandleValue handle, ProcessId process, bool all = false);
    // A thread or process that has ended gives up its id: CE 5 at once (the id is a handle
    // value its holders keep), CE 6 once no handle of it is open in any process (its id is the
    // kernel's entry, which OpenProcess and OpenThread find meanwhile).
    void release_id(KernelObject& object, HandleValue id);
    // CE 6: the ended thread or process behind a handle of `process` (null for anything else,
    // and in CE 5); after that handle closed, its id goes if the handle was the last.
    Ref<KernelObject> ended_behind(HandleValue handle, ProcessId process);
    void release_lapsed_id(KernelObject& object);
    // HandleTable::insert with the personality's error for a full table or quota.
    Result<HandleValue> insert_handle(Ref<KernelObject> object, ProcessId owner, uint32_t access,
                                      bool kernel_owned = false);

    // The object behind `handle` if `caller` may use it and it is a T, with fixed errors:
    // `not_held` when the value is stale or the caller holds no reference (the kernel's own
    // CreateFileForMapping handles excepted), the same when the object is another type, then
    // ERROR_ACCESS_DENIED when `need` asks for a right the handle lacks (files: write).
    enum class Need { nothing, write };
    template <class T>
    Result<T*> lookup(ProcessId caller, HandleValue handle, Need need = Need::nothing,
                      Win32Error not_held = Win32Error::ERROR_INVALID_HANDLE);

    // Create* of a named or unnamed object (docs/semantics/names.md §3) by an attached caller
    // (else ERROR_INVALID_HANDLE): the name is checked and looked up before anything else, and a
    // hit opens that object (one more reference for the caller, ERROR_ALREADY_EXISTS, other
    // arguments ignored); otherwise `make` validates the rest and makes the object, which gets a
    // handle and the name (last error 0 when named).
    template <class Make>
    Result<HandleValue> create_named(ProcessId caller, ObjectType type, const std::u16string* name,
                                     LastError& last_error, Make&& make);

    // CreateFileForMapping handles (kernel_files.cpp): taking `file` off a process's clean-up
    // list (true if it was there), and closing one.
    bool take_cffm(Process& p, HandleValue file);
    // CreateFileForMapping handles not yet taken over, over all connections of host `pid`.
    size_t pending_cffm_of_host(uint32_t host) const;
    void close_kernel_handle(HandleValue file);
    // Closes a CreateFileForMapping handle of `p`: CE 5, the kernel's; CE 6, p's own.
    void close_cffm(Process& p, HandleValue file);
    Result<HandleValue> create_file_mapping(Process& caller, HandleValue file, uint32_t protect,
                                            uint32_t size_high, uint32_t size_low,
                                            const std::u16string* name, LastError& last_error);
    // The process ends: the mappings it touched by address no longer wait for it.
    void forget_touches(Process& p);
    Result<HandleValue> create_mapping_ce6(Process& p, HandleValue file, uint32_t protect,
                                           uint32_t size_high, uint32_t size_low,
                                           const std::u16string* name, LastError& last_error);
    Result<FlushRange> flush_own_view(ProcessId caller, uint64_t address, uint64_t size);
    Result<MapViewResult> map_view_ce6(Process& p, HandleValue handle, MappingObject& mapping,
                                       uint32_t access, uint64_t offset, uint64_t size,
                                       std::span<const HeldRange> held);
    UnmapResult remove_view(Process& p, std::multimap<uint64_t, View>::iterator it);
    // The sharing key of a CE path: its canonical components, folded.
    Result<std::u16string> file_key(std::u16string_view path) const;

    // Waits (kernel_waits.cpp).
    // Runs `thread`'s acquisition of `object` and keeps the owner's list of mutexes current.
    bool acquire(Waitable& object, ThreadRef thread);
    // Completes the waits on `object` that can complete now, oldest first. Completing a
    // message-queue call changes the other end of its queue: the wake-ups that causes run after
    // this one (wake_queue_), never inside its walk.
    void wake_waiters(Waitable& object);
    void wake_waiters_now(Waitable& object);
    // Records wait `w` as pending (its objects' lists, the deadline, the process's tags).
    void park(Process& p, Wait w);
    // A parked message-queue call whose end is ready: does it. False when it must wait on.
    bool try_msg_op(uint64_t id);
    // Parks a ReadMsgQueue / WriteMsgQueue that found its queue empty (full).
    void park_msg_op(ThreadRef caller, HandleValue queue, uint32_t timeout_ms, uint64_t tag,
                     MsgOp op);
    // Completes wait `id` if one of its objects is ready; true if it did.
    bool try_complete(uint64_t id);
    void finish_wait(uint64_t id, uint32_t result);
    // Takes a pending wait off every list (its objects, the deadlines, its process's tags).
    Wait unlist(std::map<uint64_t, Wait>::iterator it);
    // Process death: its waits go, its mutexes are abandoned.
    void drop_sync_state(Process& p);
    // A thread (`tid`) or the whole process is gone: the kernel takes over the words of `p`'s
    // mutexes that it may own, so that the usual abandonment finds them.
    void settle_words_of(Process& p, std::optional<uint32_t> tid);
    // MutexWordHost.
    std::optional<ThreadRef> find_owner(uint32_t tid,
                                        const std::vector<ProcessId>& holders) const override;
    void word_settled(MutexObject& mutex) override;
    void word_gone(MutexObject& mutex) override;
    // A wait on `object` ended: a mutex with a word may go back to it.
    void word_may_go_back(Waitable& object);
    // Whether `p`'s Linux thread ids are the kernel's (thread_ids_are_ours_, asked once).
    bool thread_ids_ours(Process& p);
    // Whether thread `tid` of host process `pid` exists and has not ended (procfs).
    static bool thread_running(int pid, uint32_t tid);
    // Whether host process `pid` is in this kernel's PID namespace (procfs; false when unseen).
    static bool same_pid_namespace(int pid);
    void snapshot_waits(proto::Snapshot& s) const;
    void snapshot_threads(proto::Snapshot& s) const;
    // Process death: its huge reservations go back to the window.
    void release_huge_of(Process& p);

    // Threads (kernel_threads.cpp).
    // `creator`: where a created thread's handle for its creator goes.
    Result<Ref<ThreadObject>> add_thread(Process& p, uint32_t tid, bool created,
                                         uint32_t suspend_count, HandleValue* creator = nullptr);
    Result<ThreadObject*> current_thread(ThreadRef caller);
    Result<ThreadObject*> thread_for(ThreadRef caller, HandleValue handle);
    ThreadState state_of(const ThreadObject& t, uint32_t previous) const;
    // Whether stopping `target` for `caller` takes the target process's agent: a thread of
    // another host process, not held in the kernel.
    bool needs_agent(ThreadRef caller, const ThreadObject& target) const;
    bool other_host(ThreadRef caller, const ThreadObject& target) const;
    // Whether the target's process can take one more control: ERROR_ACCESS_DENIED when it runs
    // no agent, ERROR_BUSY when kMaxRemoteControls are queued or taken.
    Result<void> agent_room(const ThreadObject& target) const;
    // Queues `op` for the agent of `t`'s process and pokes it; true when `tag`'s caller now
    // waits for the agent's report (false: no such process, or no tag).
    bool send_to_agent(ThreadObject& t, ce::ThreadControlOp op, const ThreadState& state,
                       ProcessId caller, std::optional<uint64_t> tag);
    // The process is going: every caller waiting for its agent is answered.
    void drop_remote_controls(Process& p);
    // `caller`'s call `tag` (every call of it, without a tag) no longer waits for an agent.
    void forget_remote_callers(ProcessId caller, std::optional<uint64_t> tag);
    // Records the exit: parked waits fail, mutexes are abandoned, waiters wake.
    void end_thread(ThreadObject& t, uint32_t code);
    // Forgets an exited thread in its process and drops its own reference.
    void retire_thread(Process& p, ThreadObject& t);
    // Completes a held thread's await_resume (failed when the thread has exited).
    void release_held(ThreadObject& t);
    // Process death: every thread of it exits (code 0).
    void end_threads_of(Process& p);

    // Processes (kernel_processes.cpp).
    // DuplicateHandle with per-process tables (CE 6): between any two processes, any type.
    Result<HandleValue> duplicate_across(ThreadRef caller, uint32_t source_process,
                                         HandleValue handle, uint32_t target_process,
                                         uint32_t options, bool inherit);
    // The process named by `handle` for `caller` (CE 5: its id; CE 6: a handle of the caller;
    // or GetCurrentProcess()).
    Result<ProcessObject*> process_for(ProcessId caller, HandleValue handle);
    // What names a thread or process for `caller`: CE 5, its id (a global value, no reference
    // needed); CE 6, a handle in the caller's table.
    HandleTable::Entry* entry_by_id_or_handle(ProcessId caller, HandleValue value);
    // Gives process record `p` its ProcessObject (the kernel holds its handle).
    Result<void> add_process_object(Process& p, std::u16string image, uint32_t parent,
                                    bool child);
    // The process is gone (detached, and reaped if the kernel started it): the code is final,
    // its waiters wake and the kernel's reference goes.
    void maybe_end_process(ProcessObject& object);
    // §1.2: the image's CE path and an open descriptor of it.
    struct FoundImage {
        std::u16string ce_path;
        fsys::OpenedFile file;
    };
    Result<FoundImage> find_image(std::u16string_view name);
    void fail_spawn(std::map<ProcessId, Spawn>::iterator it, Win32Error error);

    // Message queues (kernel_msgqueue.cpp).
    // A new end of `queue` for `caller`, named `key` ("R:name"/"W:name") or not.
    Result<HandleValue> add_msg_queue_end(ProcessId caller, const Ref<MessageQueue>& queue,
                                          bool reader);
    // The last handle of an end closed (entry_died): the broken-queue rule, and both ends'
    // waiters are woken.
    void msg_queue_end_closed(MsgQueueObject& end);
    Win32Error ring_only(ProcessId caller, const MessageQueue& q);
    Result<void> enqueue(ThreadRef caller, HandleValue queue, std::vector<std::byte>& data,
                         uint32_t flags, MemoryBudget::Charge* charge);

    KernelConfig config_;
    std::unique_ptr<Personality> personality_;
    std::unique_ptr<fsys::Root> root_;
    OpenFiles open_files_;
    uint64_t boot_time_ns_;
    uint64_t boot_mono_ns_;
    // Mutexes with a shared word, by id, and those the kernel holds to hand back: before every
    // object that may hold a mutex.
    std::unordered_map<uint64_t, MutexObject*> mutex_words_;
    std::set<uint64_t> unpublished_words_;
    AddressWindow window_;  // before every object that may hold a range
    HandleTable handles_;
    NameSpace names_;
    std::map<ProcessId, Process> processes_;
    std::function<Result<Launched>(const LaunchSpec&)> launcher_;
    std::function<bool(ProcessId)> killer_;
    std::function<bool(int)> thread_ids_are_ours_ = &Kernel::same_pid_namespace;
    // Words of mutexes, at most: in all, and given to one process (each is a page, a
    // descriptor and a mapping of the kernel's). Past them, the kernel keeps the state.
    static constexpr size_t kMaxMutexWords = 16384;
    static constexpr size_t kMaxMutexWordsPerProcess = 1024;
    ShootdownHook shootdown_;
    std::map<ProcessId, Spawn> spawns_;  // by the started process
    // Programs the kernel started and has not reaped, by their record's id (the record may be
    // gone already: the connection hung up first).
    std::map<ProcessId, Ref<ProcessObject>> children_;
    std::unordered_map<uint32_t, std::vector<ProcessId>> hosts_;  // host key -> its processes
    uint32_t next_process_ = 1;
    std::function<std::string(ProcessId)> channel_probe_;
    std::function<bool(ProcessId)> liveness_probe_;
    std::map<uint64_t, Wait> waits_;  // by id: arrival order
    std::set<std::pair<uint64_t, uint64_t>> deadlines_;  // (deadline, wait id)
    uint64_t next_wait_id_ = 1;
    std::vector<WaitCompletion> completions_;
    std::vector<ProcessId> pokes_;
    uint32_t next_remote_token_ = 0;
    bool waking_ = false;
    std::vector<Ref<Waitable>> wake_queue_;
    Diagnostics diagnostics_;

    // Background copies (kernel_files.cpp), oldest first, taken round robin. The FileObjects
    // register the copy as an open of the source (reading, sharing reads) and of the target
    // (writing, sharing nothing); they are never in the handle table.
    // With the copy thread, a task whose process died stays (cancelled, its registrations and
    // temporary gone) until the worker gives its job back.
    struct CopyTask {
        ProcessId process;
        uint64_t tag;
        std::unique_ptr<fsys::Root::CopyJob> job;
        Ref<FileObject> source;
        Ref<FileObject> target;
        bool cancelled = false;
    };
    void finish_copy(std::list<CopyTask>::iterator task, Result<void> result);
    // The data is complete: times, attributes, rename, then the answer.
    void complete_copy(std::list<CopyTask>::iterator task);
    size_t collect_copies();  // with the copy thread: what the worker finished
    std::list<CopyTask> copies_;
    std::unique_ptr<CopyWorker> copy_worker_;  // after copies_: stops before the jobs go
    MemoryBudget memory_budget_{config_.process_memory_limit};

    // The registry (kernel_registry.cpp): one tree for all processes, and its hive files.
    Result<void> flush_hive(fsys::registry::HiveId hive);
    fsys::registry::Tree registry_;
    std::unique_ptr<fsys::registry::Hive> hives_[fsys::registry::kHiveCount];
    bool registry_flush_on_close_ = false;
};

}  // namespace cek::kernel
