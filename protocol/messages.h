// Request and reply layouts. Every struct is standard-layout, trivially copyable, fixed-width and
// explicitly padded; no pointers. Variable data (UTF-16 names) follows the fixed part and is
// described by a length field. Sizes are pinned by static_asserts so that a change is deliberate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ce_constants.h"
#include "channel.h"
#include "request_codes.h"
#include "trace.h"

namespace cek::proto {

// Precedes every request in a slot. `size` counts the header and the body.
struct RequestHeader {
    uint32_t code;
    uint32_t size;
    uint32_t thread_id;  // the caller's Linux tid, for tracing and (later) wait ownership
    uint32_t flags;      // RequestFlags
};
enum RequestFlags : uint32_t {
    // Nobody waits for the reply (the process's exit code, as it ends). The kernel serves such
    // a request even when the process is gone before it looked; no other request of a process
    // that is gone is served.
    kRequestPosted = 1,
};

// Precedes every reply. `failed` says whether the call failed; `set_error` whether the client
// must store `error` in the thread's last error. A success may carry an informational error
// (ERROR_ALREADY_EXISTS); CE also leaves the last error untouched on many successes.
struct ReplyHeader {
    uint32_t size;
    uint32_t error;
    uint8_t failed;
    uint8_t set_error;
    uint8_t reserved[6];
};

// Null: a round trip that does nothing (benchmarks, liveness). No errors.
struct NullRequest {
    uint64_t cookie;
};
struct NullReply {
    uint64_t cookie;
};

// CloseHandle: drop one of the caller's references to a handle.
// Errors: ERROR_INVALID_HANDLE (not a handle, stale, or the caller holds no reference).
struct CloseHandleRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct CloseHandleReply {
    uint64_t reserved;
};

// CreateMapping: CreateFileMappingW. `file` is the raw handle value (0xFFFFFFFF for
// INVALID_HANDLE_VALUE, a RAM-backed mapping). `name_chars` UTF-16 units follow when `has_name`.
// Errors, in CE 5 order: ERROR_INVALID_PARAMETER (bad size, name too long, protection),
// ERROR_ACCESS_DENIED (file cannot grow or be accessed), ERROR_NOT_ENOUGH_MEMORY (window full).
// Success with ERROR_ALREADY_EXISTS when the name existed (same handle value returned).
struct CreateMappingRequest {
    uint32_t file;
    uint32_t protect;
    uint32_t size_high;
    uint32_t size_low;
    uint32_t has_name;
    uint32_t name_chars;
};
struct CreateMappingReply {
    uint32_t handle;
    uint32_t reserved;
};

// MapView: MapViewOfFile. Errors: ERROR_INVALID_HANDLE (no such mapping for the caller),
// ERROR_INVALID_PARAMETER (access bits, write view of a read-only map, offset or size out of
// range), ERROR_TOO_MANY_OPEN_FILES (the descriptor could not be sent; no view was made), CE 6:
// ERROR_OUTOFMEMORY (size 0 leaving more than 4 GB, the map's 20000 views, no room in the
// window). The
// reply tells the client which range to map and, when this is the first view of the mapping in
// the calling process, which kernel descriptor to map: the kernel sends it on the process's
// socket (KernelFdMessage, protocol/channel.h) before this reply. The range is the whole
// mapping's (CE 5, and CE 6's RAM-backed mappings), or with kViewOwnRange the view's own (CE 6's
// file views: `map_length` bytes of the file from `file_offset`, mapped from the descriptor the
// client kept since its first view of the mapping). With kViewReused the view is one the caller
// already has (CE 6: same mapping, offset, size and access): nothing to map, and the reply's
// last error is ERROR_ALREADY_EXISTS. `lingering` LingeringRanges follow: ranges the client
// still holds mapped PROT_NONE from earlier views. When the first view's range is one of them
// (same base, length, dev, ino and flags) the kernel sends no descriptor and sets kViewRevive:
// the client maps the range again with mprotect. A CE 6 file view takes one of the caller's
// own lingering ranges of the same mapping, file offset, length and protection when it is free
// in the window, with kViewRevive. A CE 6 RAM-backed view comes with kViewPagesOwn: the
// mapping's range is mapped PROT_NONE and only the view's pages, [address, address +
// view_length) rounded out to pages, get access: read-write if this view (kViewWrites) or
// another of the caller's views over the same page writes, else read-only (CE 6 merges the
// views at one offset).
struct MapViewRequest {
    uint32_t mapping;
    uint32_t access;
    uint32_t offset_high;
    uint32_t offset_low;
    uint64_t size;
    uint32_t lingering;  // at most kMaxLingeringRanges
    uint32_t reserved;
};
struct LingeringRange {
    uint64_t base;
    uint64_t length;
    uint64_t dev;
    uint64_t ino;
    uint32_t flags;  // the range's MapViewFlags (kRangeFlags); others are ignored
    uint32_t reserved;
    uint64_t file_offset;  // kViewOwnRange: where in the file the range starts
    uint64_t object;       // kViewOwnRange: the mapping it was a view of (MapViewReply::object_id)
};
inline constexpr uint32_t kMaxLingeringRanges = 16;
struct MapViewReply {
    uint64_t address;      // what MapViewOfFile returns
    uint64_t map_base;     // the mapping's range in the window
    uint64_t map_length;   // page-rounded length of the range
    uint64_t object_id;
    uint64_t dev;          // identity of the descriptor, checked once received
    uint64_t ino;
    int32_t kernel_fd;     // descriptor number in the kernel; -1 when already mapped here
    uint32_t flags;        // MapViewFlags
    uint64_t file_offset;  // kViewOwnRange: where in the file the range starts
    uint64_t view_length;  // the view's length in bytes (what was asked, or to the end)
};
enum MapViewFlags : uint32_t {
    kViewWritable = 1,    // map the range PROT_READ|PROT_WRITE (else PROT_READ)
    kViewFileBacked = 2,  // FlushViewOfFile must write the pages to the file
    kViewRevive = 4,      // a range the client names as lingering: no descriptor, mprotect it
    kViewOwnRange = 8,    // CE 6: the range is this view's alone
    kViewReused = 16,     // CE 6: an identical view the caller has; nothing to map
    kViewPagesOwn = 32,   // CE 6 RAM-backed: the range PROT_NONE but for the views' own pages
    kViewWrites = 64,     // with kViewPagesOwn: this view is read-write
};
// The flags that describe a mapped range rather than one view or one reply: what a lingering
// range must match to be revived.
inline constexpr uint32_t kRangeFlags = kViewWritable | kViewFileBacked | kViewOwnRange |
                                        kViewPagesOwn;

// UnmapView: UnmapViewOfFile. Errors: ERROR_INVALID_ADDRESS (not a view start of the caller;
// CE 6: ERROR_INVALID_PARAMETER). When `release_length` is non-zero the client returns that
// range to the reservation; when `flush_length` is (CE 6), it first writes that range back.
// `forget_object` (CE 6) names a mapping of which the caller has no view left: it closes the
// descriptor it kept for the mapping's own-range views. `view_flags` with kViewPagesOwn (CE 6's
// RAM-backed views): the view that went, `view_length` bytes at the address (kViewWrites: it was
// read-write), whose pages the client protects again from its remaining views.
struct UnmapViewRequest {
    uint64_t address;
};
struct UnmapViewReply {
    uint64_t release_base;    // the mapping's range, when this was the process's last view of it;
    uint64_t release_length;  // CE 6's file views: the view's own range
    uint64_t flush_base;      // CE 6: the view, which the caller writes back (length 0: none)
    uint64_t flush_length;
    uint64_t forget_object;   // CE 6: 0, or the mapping whose kept descriptor goes
    uint64_t view_length;     // kViewPagesOwn: the length of the view that went
    uint32_t view_flags;      // 0, or kViewPagesOwn with kViewWrites when it was read-write
    uint32_t reserved;
};

// WindowTouch: the client's fault handler found `address` (in the window, not mapped in this
// process) touched. CE 5 lets any process read and write any live mapping by address
// (docs/semantics/mappings.md §9): the reply describes the mapping whose range holds the
// address, and the kernel sends its descriptor (KernelFdMessage) before the reply, always. The
// kernel remembers the process as one that touched the mapping: when the mapping dies, the
// process is asked to let go of the range (channel.h, Shootdowns), which is not handed out
// again until every such process has or has ended. Errors:
// ERROR_INVALID_ADDRESS (no live mapping there, or a personality without global views).
struct WindowTouchRequest {
    uint64_t address;
};
struct WindowTouchReply {
    uint64_t map_base;
    uint64_t map_length;
    uint64_t object_id;
    uint64_t dev;
    uint64_t ino;
    int32_t kernel_fd;
    uint32_t flags;  // MapViewFlags: kViewWritable, kViewFileBacked
};

// IdQuery: GetThreadId, GetProcessId, GetProcessIdOfThread (`query`, ce::IdQuery) of a handle of
// the caller or a pseudo-handle. Errors: ERROR_INVALID_HANDLE (not such a handle),
// ERROR_CALL_NOT_IMPLEMENTED (CE 5 has none of them), ERROR_INVALID_PARAMETER (unknown query).
using ce::IdQuery;
struct IdQueryRequest {
    uint32_t handle;
    uint32_t query;
};
struct IdQueryReply {
    uint32_t id;
    uint32_t reserved;
};

// ThreadRemote: SuspendThread, ResumeThread and TerminateThread of a thread of another host
// process are carried out by that process's agent thread (the shim's watcher), which the kernel
// wakes through the notice eventfd. `op` kThreadRemoteTake takes the next one: the reply's `op`
// (ThreadControlOp Suspend, Resume or Terminate), the thread's id, the suspend count and its
// sequence to apply, and a `token` (0: nobody waits for it). kThreadRemoteDone reports the one
// with `token` carried out, which answers the caller waiting in SuspendThread or TerminateThread.
// Errors: ERROR_NO_MORE_ITEMS (Take: nothing queued), ERROR_INVALID_PARAMETER (unknown op, a
// token this process was not given).
inline constexpr uint32_t kThreadRemoteTake = 1;
inline constexpr uint32_t kThreadRemoteDone = 2;
struct ThreadRemoteRequest {
    uint32_t op;
    uint32_t token;
};
struct ThreadRemoteReply {
    uint32_t op;
    uint32_t id;
    uint32_t sequence;
    uint32_t count;
    uint32_t token;
    uint32_t reserved;
};

// FlushView: FlushViewOfFile for an address the caller could not flush locally (CE 5), or for
// any address (CE 6). CE 5: fails without setting an error when the address is inside no
// mapping. CE 6: ERROR_INVALID_PARAMETER unless the range lies in one of the caller's views;
// the reply names the range for the caller to write back.
struct FlushViewRequest {
    uint64_t address;
    uint64_t size;
};
struct FlushViewReply {
    uint64_t base;    // CE 6: the range the caller writes back (length 0: nothing to write; CE 5:
    uint64_t length;  // always 0, the kernel has written it)
};

// Snapshot: freeze a consistent view of the kernel's objects for diagnostics (cedump).
// The encoded snapshot (snapshot.h) is kept for this process and read with SnapshotRead.
struct SnapshotRequest {
    uint64_t reserved;
};
struct SnapshotReply {
    uint64_t total_bytes;
};

// SnapshotRead: a chunk of the frozen snapshot, starting at `offset`; data follows the reply.
// Errors: ERROR_INVALID_PARAMETER (no snapshot taken, offset beyond the end).
struct SnapshotReadRequest {
    uint64_t offset;
};
struct SnapshotReadReply {
    uint64_t total_bytes;
    uint32_t chunk_bytes;
    uint32_t reserved;
};

// CreateFile: CreateFileW, or CreateFileForMappingW when `for_mapping` (CE 5: runs in the
// kernel, the handle is kernel-owned, the share mode is derived from the access). The UTF-16
// path (`path_chars` units) follows. Errors: those of the file system (FILE_NOT_FOUND,
// PATH_NOT_FOUND, FILE_EXISTS, ACCESS_DENIED, INVALID_NAME, FILENAME_EXCED_RANGE,
// INVALID_PARAMETER), SHARING_VIOLATION. Success sets the last error to 0, or to
// ALREADY_EXISTS when CREATE_ALWAYS / OPEN_ALWAYS found the file.
struct CreateFileRequest {
    uint32_t access;
    uint32_t share;
    uint32_t disposition;
    uint32_t flags_and_attributes;
    uint32_t for_mapping;
    uint32_t path_chars;
};
struct CreateFileReply {
    uint32_t handle;
    uint32_t reserved;
};

// FileDescriptor: which kernel descriptor serves a file handle, with the handle's rights. With
// `send_fd` the kernel sends the descriptor on the process's socket (KernelFdMessage) before
// this reply, for the client to cache; without it (a kernel-owned handle whose descriptor the
// client holds already) nothing is sent. With `keep_position` (the caller mapped its table of
// positions, FilePositions) the reply's `position` says where the file's position lives for
// the caller (protocol/file_position.h): 0, in the descriptor's open file description; else
// its slot in the caller's table, which the caller then keeps. A call by a second process
// moves the position into the description first. Errors: INVALID_HANDLE, TOO_MANY_OPEN_FILES
// (the descriptor could not be sent: the client left too many unread).
struct FileDescriptorRequest {
    uint32_t handle;
    uint32_t send_fd;
    uint32_t keep_position;
    uint32_t reserved;
};
struct FileDescriptorReply {
    int32_t kernel_fd;
    uint32_t read;
    uint32_t write;
    uint32_t kernel_owned;  // CFFM: check with the kernel before each use
    uint32_t directory;
    uint32_t position;  // proto::position_ref, or 0
    uint64_t dev;
    uint64_t ino;
};

// FilePositions: the caller's table of file positions (protocol/file_position.h), asked once,
// before the process's first FileDescriptor. Its memfd is sent on the socket before the reply
// (`kernel_fd`, `dev`, `ino`, as for MapView). `available` 0: no table (the kernel could not
// make one); every position then stays in the open file description. Errors: none.
struct FilePositionsRequest {
    uint64_t reserved;
};
struct FilePositionsReply {
    uint64_t dev;
    uint64_t ino;
    int32_t kernel_fd;
    uint32_t available;
};

// SetEndOfFile at the handle's file pointer. Errors: INVALID_HANDLE, ACCESS_DENIED (no write
// access), USER_MAPPED_FILE (below a mapping of the file), DISK_FULL.
struct SetEndOfFileRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct SetEndOfFileReply {
    uint64_t size;
};

// FileInfo: GetFileInformationByHandle / GetFileTime. Errors: INVALID_HANDLE.
struct FileInfoRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct FileInfoReply {
    uint32_t attributes;
    uint32_t links;
    uint64_t size;
    uint64_t creation;
    uint64_t last_access;
    uint64_t last_write;
    uint64_t dev;
    uint64_t ino;
};

// SetFileTime; bit 0/1/2 of `which` says creation/access/write are set. Errors: INVALID_HANDLE,
// ACCESS_DENIED (no write access).
struct SetFileTimeRequest {
    uint32_t handle;
    uint32_t which;
    uint64_t creation;
    uint64_t last_access;
    uint64_t last_write;
};
struct SetFileTimeReply {
    uint64_t reserved;
};

// PathOp: one path-based call; the path follows. Errors: the file system's, plus
// SHARING_VIOLATION for deleting an open file. (Names avoid the Win32 API's: <windows.h>
// macros would rewrite them in coredll.)
enum class PathOpCode : uint32_t {
    GetAttributes = 1,   // GetFileAttributesW
    SetAttributes = 2,   // SetFileAttributesW
    Unlink = 3,          // DeleteFileW
    MakeDirectory = 4,   // CreateDirectoryW
    RemoveEmptyDirectory = 5,  // RemoveDirectoryW
};
struct PathOpRequest {
    uint32_t op;
    uint32_t argument;  // SetAttributes: the attributes
    uint32_t path_chars;
    uint32_t reserved;
};
struct PathOpReply {
    uint32_t value;  // GetAttributes: the attributes
    uint32_t reserved;
};

// MovePath: MoveFileW, or CopyFileW when `copy`. `from_chars` then `to_chars` UTF-16 units
// follow. Errors: the file system's, SHARING_VIOLATION for an open source or target.
struct MovePathRequest {
    uint32_t copy;
    uint32_t fail_if_exists;
    uint32_t from_chars;
    uint32_t to_chars;
};
struct MovePathReply {
    uint64_t reserved;
};

// One directory entry of a search; the name (`name_chars` UTF-16 units) follows the reply.
struct FindEntryWire {
    uint32_t attributes;
    uint32_t name_chars;
    uint64_t size;
    uint64_t creation;
    uint64_t last_access;
    uint64_t last_write;
    uint64_t oid;
};

// FindFirst: FindFirstFileW; the pattern follows. Errors: FILE_NOT_FOUND, PATH_NOT_FOUND,
// INVALID_NAME... Returns a search handle and the first entry.
struct FindFirstRequest {
    uint32_t path_chars;
    uint32_t reserved;
};
struct FindFirstReply {
    uint32_t handle;
    uint32_t reserved;
    FindEntryWire entry;
};

// FindNext: FindNextFileW. Errors: INVALID_HANDLE, NO_MORE_FILES.
struct FindNextRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct FindNextReply {
    FindEntryWire entry;
};

// FindClose. Errors: INVALID_HANDLE (also for a handle that is not a search).
struct FindCloseRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct FindCloseReply {
    uint64_t reserved;
};

// TraceRead: cedump trace. The first call (cursor 0) makes the caller a tracer until its
// process detaches; while at least one tracer is attached the kernel keeps the last
// kTraceCapacity requests in a ring. Each call returns the records from `cursor` on that fit,
// as TraceRecordWire + args + result (UTF-8) each; `lost` counts records that were overwritten
// before this tracer read them. Records hold decoded arguments, never file data. No errors.
struct TraceReadRequest {
    uint64_t cursor;  // 0: attach, start from now
};
struct TraceReadReply {
    uint64_t next_cursor;
    uint64_t lost;
    uint32_t count;
    uint32_t reserved;
};

// ---- GetFileAttributesExW, GetDiskFreeSpaceExW: path queries that need the object store (docs/semantics/files.md §7, §12). ----

// PathInfo: GetFileAttributesExW. The path follows. Errors: those of GetFileAttributesW.
struct PathInfoRequest {
    uint32_t path_chars;
    uint32_t reserved;
};
struct PathInfoReply {
    uint32_t attributes;
    uint32_t reserved;
    uint64_t size;
    uint64_t creation;
    uint64_t last_access;
    uint64_t last_write;
};

// DiskSpace: GetDiskFreeSpaceExW for the volume holding a directory (the path follows; none
// means the root). Errors: PATH_NOT_FOUND (no such directory), INVALID_NAME...
struct DiskSpaceRequest {
    uint32_t path_chars;
    uint32_t reserved;
};
struct DiskSpaceReply {
    uint64_t free_to_caller;
    uint64_t total;
    uint64_t total_free;
};

// ---- Synchronization objects (CE 5, docs/semantics/sync.md, names.md, handles.md §5). Names avoid the Win32 API's:
// <windows.h> macros (CreateEvent, CreateMutex...) would rewrite them in coredll. ----

enum class SyncKind : uint32_t { Event = 1, Mutex = 2, Semaphore = 3 };
enum SyncCreateFlags : uint32_t {
    kEventManualReset = 1,   // Event
    kEventInitialState = 2,  // Event
    kMutexInitialOwner = 1,  // Mutex: the calling thread owns it
};

// SyncCreate: CreateEventW, CreateMutexW, CreateSemaphoreW. `name_chars` UTF-16 units follow
// when `has_name`. A name already used by an object of the same kind opens it (same value,
// ERROR_ALREADY_EXISTS; the other arguments are ignored); kinds have separate namespaces.
// Errors: ERROR_INVALID_PARAMETER (unknown kind, name longer than 259, semaphore counts:
// initial < 0, maximum <= 0, initial > maximum), ERROR_NOT_ENOUGH_MEMORY (handle table full).
// A new named object sets the last error to 0.
struct SyncCreateRequest {
    uint32_t kind;  // SyncKind
    uint32_t flags;  // SyncCreateFlags
    int32_t initial;  // Semaphore
    int32_t maximum;  // Semaphore
    uint32_t has_name;
    uint32_t name_chars;
};
struct SyncCreateReply {
    uint32_t handle;
    uint32_t reserved;
};

// SyncOpen: OpenEventW (the kernel serves every kind). The name follows.
// Errors: ERROR_INVALID_PARAMETER (inherit requested, name too long), ERROR_FILE_NOT_FOUND.
struct SyncOpenRequest {
    uint32_t kind;
    uint32_t access;
    uint32_t inherit;
    uint32_t name_chars;
};
struct SyncOpenReply {
    uint32_t handle;
    uint32_t reserved;
};

// EventSet: SetEvent, ResetEvent, PulseEvent. Errors: ERROR_INVALID_HANDLE (not an event the
// caller holds), ERROR_INVALID_PARAMETER (unknown op).
using ce::EventOp;
struct EventSetRequest {
    uint32_t handle;
    uint32_t op;  // EventOp
};
struct EventSetReply {
    uint64_t reserved;
};

// MutexRelease: ReleaseMutex by the calling thread (RequestHeader::thread_id).
// Errors: ERROR_INVALID_HANDLE, ERROR_NOT_OWNER (the calling thread does not own it).
struct MutexReleaseRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct MutexReleaseReply {
    uint64_t reserved;
};

// MutexWord: the shared word of a mutex the caller holds (protocol/mutex_word.h), asked at a
// process's first wait or release through the handle. `available` 0: the kernel keeps the state
// and every call goes to it (no memory for a word). Otherwise the word's memfd is sent on the
// socket before the reply (`kernel_fd`, `dev`, `ino`, as for MapView); `object_id` tells two
// handles of one mutex apart. Errors: ERROR_INVALID_HANDLE (not a mutex of the caller).
struct MutexWordRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct MutexWordReply {
    uint64_t object_id;
    uint64_t dev;
    uint64_t ino;
    int32_t kernel_fd;
    uint32_t available;
};

// SemaphoreRelease: ReleaseSemaphore. Errors: ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER
// (count <= 0), ERROR_TOO_MANY_POSTS (the count would pass the maximum; nothing changes).
struct SemaphoreReleaseRequest {
    uint32_t handle;
    int32_t count;
};
struct SemaphoreReleaseReply {
    int32_t previous;
    uint32_t reserved;
};

// WaitObjects: WaitForSingleObject / WaitForMultipleObjects; `count` handle values (u32 each)
// follow. The reply may come much later: the slot stays pending until an object is signalled
// or the timeout passes, while the kernel serves everyone else. `result` is WAIT_OBJECT_0 + i,
// WAIT_ABANDONED + i or WAIT_TIMEOUT. Errors (WAIT_FAILED): ERROR_INVALID_PARAMETER (count 0 or
// above 64, wait_all: CE requires FALSE), ERROR_INVALID_HANDLE (not a waitable handle of the
// caller), ERROR_TOO_MANY_POSTS (a mutex's recursion count would overflow).
using ce::kMaxWaitObjects;
using ce::kWaitInfinite;
struct WaitObjectsRequest {
    uint32_t count;
    uint32_t wait_all;
    uint32_t timeout_ms;  // kWaitInfinite: no timeout
    uint32_t reserved;
};
struct WaitObjectsReply {
    uint32_t result;
    uint32_t reserved;
};

// Duplicate: DuplicateHandle as CE 5 allows it: events, mutexes and semaphores, within the
// calling process (both process handles are GetCurrentProcess()), options must include
// DUPLICATE_SAME_ACCESS, no inheritance; the same value comes back with one more reference
// (CLOSE_SOURCE drops one). Every failure is ERROR_INVALID_PARAMETER, as in CE 5.
using ce::kCurrentProcessHandle;
using ce::kCurrentThreadHandle;
using ce::kDuplicateCloseSource;
using ce::kDuplicateSameAccess;
struct DuplicateRequest {
    uint32_t source_process;
    uint32_t handle;
    uint32_t target_process;
    uint32_t access;
    uint32_t inherit;
    uint32_t options;
};
struct DuplicateReply {
    uint32_t handle;
    uint32_t reserved;
};

// VmReserve: a CE 5 huge reservation (VirtualAlloc with a NULL address, exactly MEM_RESERVE,
// exactly PAGE_NOACCESS and at least 2 MiB; ce-kernel-objects.md §4.1): a range of the shared
// window owned by the caller alone, released by VmRelease or when the caller detaches. The
// client commits and protects pages inside it by itself. `length` is what the caller asked for;
// the reply's `length` is the range's, rounded (64 KiB, or 2 MiB units from 2 MiB on).
// Errors: ERROR_OUTOFMEMORY (outside [kHugeReservationMinimum, kHugeReservationMaximum] of
// window.h, or no room in the window).
struct VmReserveRequest {
    uint64_t length;
};
struct VmReserveReply {
    uint64_t address;
    uint64_t length;
};

// VmRelease: VirtualFree(MEM_RELEASE, 0) of a huge reservation. The client has already returned
// the range to PROT_NONE. Errors: ERROR_INVALID_PARAMETER (not the base of a reservation the
// caller holds: another process's reservation cannot be released).
struct VmReleaseRequest {
    uint64_t address;
};
struct VmReleaseReply {
    uint64_t reserved;
};

// ---- Message queues (ce-kernel-objects.md §5; docs/semantics/msgqueue.md). Message data
// travels in the slot: a message up to kMsgQueueWriteInline / kMsgQueueReadInline bytes in one
// request or reply, a larger one in parts (docs/decisions/0007-message-queues.md). A read of an
// empty queue or a write to a full one with a non-zero time-out is answered later, like a
// WaitObjects: the kernel parks it on the queue end and replies once it is done or timed out
// (ERROR_TIMEOUT).
using ce::kMsgQueueAllowBroken;
using ce::kMsgQueueMsgAlert;
using ce::kMsgQueueNoPrecommit;

// MsgQueueCreate: CreateMsgQueue; `name_chars` UTF-16 units follow when `has_name`.
// Errors: ERROR_INVALID_PARAMETER (options_size < 20, max_bytes 0 or above 1 MiB, max_messages
// above 0x100000, unknown flags, a name of 258 characters or more), ERROR_OUTOFMEMORY (more
// than 16 MB pre-committed), ERROR_NOT_ENOUGH_MEMORY (handle table full). Success sets the last
// error: 0, or ERROR_ALREADY_EXISTS when the named end, or the other end's queue, existed.
struct MsgQueueCreateRequest {
    uint32_t options_size;  // MSGQUEUEOPTIONS.dwSize
    uint32_t flags;
    uint32_t max_messages;
    uint32_t max_bytes;
    uint32_t read_access;
    uint32_t has_name;
    uint32_t name_chars;
    uint32_t reserved;
};
struct MsgQueueCreateReply {
    uint32_t handle;
    uint32_t reserved;
};

// MsgQueueOpen: OpenMsgQueue. `source_process` is GetCurrentProcess() or a process id.
// Errors: ERROR_INVALID_HANDLE (no such process), ERROR_INVALID_PARAMETER (handle 0,
// options_size < 20, not a queue of that process, a broken queue). Last error 0 on success.
struct MsgQueueOpenRequest {
    uint32_t source_process;
    uint32_t handle;
    uint32_t options_size;
    uint32_t read_access;
};
struct MsgQueueOpenReply {
    uint32_t handle;
    uint32_t reserved;
};

// MsgQueueWrite: WriteMsgQueue, a part of the message follows. `offset` 0 with the whole
// message writes it; otherwise the part is staged at `offset` (0 starts a message, checking
// the handle and cbMaxMessage first) and the message is written once all `total` bytes are
// there (`offset` == `total` with no data writes the staged message); `total` 0 drops it.
// Errors: ERROR_INVALID_PARAMETER (total 0, a part out of order), ERROR_INVALID_HANDLE (not a
// writer end), ERROR_INSUFFICIENT_BUFFER (above cbMaxMessage), ERROR_PIPE_NOT_CONNECTED,
// ERROR_OUTOFMEMORY (the writer's memory budget), ERROR_TIMEOUT (still full when the time-out
// passed; a staged message is dropped then). Last error 0 once written; may be answered later.
struct MsgQueueWriteRequest {
    uint32_t handle;
    uint32_t flags;  // kMsgQueueMsgAlert
    uint32_t total;
    uint32_t offset;
    uint32_t timeout_ms;  // for the write itself; kWaitInfinite: no time-out
    uint32_t reserved;
};
struct MsgQueueWriteReply {
    uint32_t staged;   // bytes staged so far
    uint32_t written;  // 1 once the message is in the queue
};

// MsgQueueRead: ReadMsgQueue into a buffer of `capacity` bytes. With `offset` 0 it takes a
// message (the alert slot first): the reply carries `size` (the bytes the reader gets: the
// message, cut to `capacity`), `flags`, and as many bytes as fit; the thread fetches the rest
// with further calls at `offset` = bytes received (reply data only). Last error 0, or
// ERROR_INSUFFICIENT_BUFFER when the message was cut (the call still succeeds).
// Errors: ERROR_INVALID_PARAMETER (capacity 0 or above INT32_MAX, no rest at `offset`),
// ERROR_INVALID_HANDLE (not a reader end), ERROR_PIPE_NOT_CONNECTED, ERROR_TIMEOUT (still
// empty when the time-out passed). May be answered later.
struct MsgQueueReadRequest {
    uint32_t handle;
    uint32_t capacity;
    uint32_t offset;
    uint32_t timeout_ms;  // kWaitInfinite: no time-out
};
struct MsgQueueReadReply {
    uint32_t size;
    uint32_t flags;
};

// MsgQueueInfo: GetMsgQueueInfo on either end. Errors: ERROR_INVALID_PARAMETER (info_size < 28,
// not a queue handle of the caller).
struct MsgQueueInfoRequest {
    uint32_t handle;
    uint32_t info_size;
};
struct MsgQueueInfoReply {
    uint32_t flags;
    uint32_t max_messages;
    uint32_t max_bytes;
    uint32_t current;
    uint32_t high_water;
    uint16_t readers;
    uint16_t writers;
};

// MsgQueueRing: the ring of a queue end the caller holds, asked at a process's first use of the
// handle (protocol/msg_ring.h), and to check that it still holds it. `ring_bytes` 0: the queue
// keeps its messages in the kernel and the client uses MsgQueueWrite/MsgQueueRead. Otherwise,
// with `send_ring`, the ring's memfd is sent on the socket before the reply (`kernel_fd`, `dev`,
// `ino`, as for MapView; without it `kernel_fd` is -1), and MsgQueueWrite/MsgQueueRead on this
// queue fail with ERROR_INVALID_HANDLE. Errors: ERROR_INVALID_HANDLE (not a queue end of the
// caller).
struct MsgQueueRingRequest {
    uint32_t handle;
    uint32_t send_ring;  // 1: send the ring's descriptor
};
struct MsgQueueRingReply {
    uint64_t queue_id;
    uint64_t ring_bytes;
    uint64_t dev;
    uint64_t ino;
    int32_t kernel_fd;
    uint32_t reader;  // 1: the handle is the reader end
    uint32_t max_messages;
    uint32_t max_bytes;
};

// MsgQueueNotify: the caller changed a queue's ring while its header listed kernel waits on an
// end (`kernel_watch`): the kernel looks at the waits on both ends again. Errors:
// ERROR_INVALID_HANDLE (not a queue end of the caller).
struct MsgQueueNotifyRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct MsgQueueNotifyReply {
    uint64_t reserved;
};

// Threads (ce-kernel-objects.md §2, docs/semantics/threads.md). A thread's handle value is its
// id; any process may name any thread by it (CE 5); kCurrentThreadHandle names the caller.
//
// ThreadCreate: CreateThread's kernel half, before the host thread exists. Errors:
// ERROR_INVALID_PARAMETER (flags other than CREATE_SUSPENDED and STACK_SIZE_PARAM_IS_A_RESERVATION,
// a reservation <= 0 as a signed value), ERROR_NOT_ENOUGH_MEMORY (no room for the handle).
using ce::kCreateSuspended;
using ce::kStackSizeParamIsAReservation;
struct ThreadCreateRequest {
    uint32_t flags;
    uint32_t stack_size;
};
struct ThreadCreateReply {
    uint32_t handle;
    uint32_t id;  // CE 5: the handle
};
// A thread's state after a thread call: its id (`handle`; CE 6: not a handle), the suspend count
// before the call and after it,
// the count's sequence (the shim applies counts in this order), its Linux tid and whether it has
// exited. ThreadAttach: a created thread's first call (`handle`: binds the caller's tid), or with
// handle 0 the caller's identity (a thread the kernel has not met is adopted). Errors:
// ERROR_INVALID_PARAMETER (not a created thread of the caller that has not started).
struct ThreadAttachRequest {
    uint32_t handle;
    uint32_t reserved;
};
struct ThreadAttachReply {
    uint32_t handle;
    uint32_t previous;
    uint32_t count;
    uint32_t sequence;
    uint32_t tid;
    uint32_t flags;  // kThreadGone (below)
};
// ThreadExit: ExitThread or the thread function's return by the calling thread. No errors.
struct ThreadExitRequest {
    uint32_t exit_code;
    uint32_t reserved;
};
struct ThreadExitReply {
    uint64_t reserved;
};
// ThreadControl: SuspendThread, ResumeThread, TerminateThread (`op`, ThreadControlOp; `code` is
// the exit code). A suspend or terminate of a thread of another host process is answered once
// that process's agent has stopped the thread (ThreadRemote), or it has gone. Errors:
// ERROR_INVALID_HANDLE (no such thread; suspend or resume of an exited one),
// ERROR_SIGNAL_REFUSED (suspend count at 127), ERROR_BUSY (the target process has too many
// stops queued), ERROR_INVALID_PARAMETER (unknown op).
using ce::ThreadControlOp;
struct ThreadControlRequest {
    uint32_t handle;
    uint32_t op;
    uint32_t code;
    uint32_t reserved;
};
inline constexpr uint32_t kThreadGone = 1;  // ThreadControlReply / ThreadAttachReply flags
inline constexpr uint32_t kThreadIsCaller = 2;  // the calling thread itself
struct ThreadControlReply {
    uint32_t handle;
    uint32_t previous;
    uint32_t count;
    uint32_t sequence;
    uint32_t tid;
    uint32_t flags;  // kThreadGone, kThreadIsCaller
};
// ThreadQuery: priorities, quanta and the exit code (`op`, ThreadOp or kThreadExitCode). Errors
// per operation, ce-kernel-objects.md §2.3: ERROR_INVALID_HANDLE (no such thread; a get on an
// exited one; SetThreadPriority of an exited one), ERROR_INVALID_PARAMETER (level >= 8, CE
// priority >= 256, quantum with bit 31, a Ce set on an exited thread).
using ce::ThreadOp;
inline constexpr uint32_t kThreadExitCode = 100;  // GetExitCodeThread
struct ThreadQueryRequest {
    uint32_t handle;
    uint32_t op;
    uint32_t value;
    uint32_t reserved;
};
struct ThreadQueryReply {
    uint32_t value;
    uint32_t reserved;
};

// StageText: a text too long for one request travels first, in parts staged for the calling
// thread: `chars` units (they follow) at unit `offset` of a text of `total` units, for
// `purpose` (StagePurpose); offset 0 starts anew. The request that uses it names kTextStaged as
// its length and takes the whole staged text (and drops it): RegCreateKey, RegOpenKey and
// RegDeleteKey a subkey path (over kRegPathMaxChars units), ProcessCreate a command line (over
// kProcessCommandInline). Reply `staged`: the units staged so far. ERROR_INVALID_PARAMETER
// (`total` over the purpose's longest: kRegPathLongest, kProcessCommandLongest; a part out of
// order or past `total`; an unknown purpose; a staged call without the whole text staged for
// its purpose), ERROR_OUTOFMEMORY (the process's memory budget).
using ce::kStageCommandLine;
using ce::kStageRegistryPath;
struct StageTextRequest {
    uint32_t total;
    uint32_t offset;
    uint32_t chars;
    uint32_t purpose;
};
struct StageTextReply {
    uint32_t staged;
    uint32_t reserved;
};
inline constexpr uint32_t kTextStaged = 0xFFFFFFFF;
// Units one StageText request carries.
inline constexpr uint32_t kStageTextInline =
    (kRequestBytes - sizeof(RequestHeader) - sizeof(StageTextRequest)) / 2;

// Processes (ce-kernel-objects.md §1, docs/semantics/processes.md). A process's handle value is
// its id; any process may name any process by it (CE 5); kCurrentProcessHandle names the caller.
//
// ProcessCreate: CreateProcessW. `image_chars` UTF-16 units of image name (`has_image` 0: a NULL
// name), then `command_chars` of command line (kTextStaged: the thread's staged command line;
// `command_overflow`: longer than kProcessCommandLongest, not sent). The reply comes once the
// program has attached (a CE program) or at once (another host program). Errors:
// ERROR_INVALID_PARAMETER (NULL or, CE 5, too long name, inherit, an unknown flag, environment,
// current directory, a command line over the personality's longest: CE 6 16383 units, CE 5
// kProcessCommandLongest), ERROR_BAD_PATHNAME (CE 6: a name of MAX_PATH units or more),
// ERROR_OUTOFMEMORY (no slot: 31 processes; no handle),
// ERROR_FILE_NOT_FOUND, ERROR_BAD_EXE_FORMAT, ERROR_ACCESS_DENIED (the host cannot run it),
// ERROR_DLL_INIT_FAILED (the program died before it attached), ERROR_NOT_SUPPORTED (a kernel
// that cannot start programs).
using ce::kCreateProcessFlags;
struct ProcessCreateRequest {
    uint32_t flags;
    uint32_t inherit;
    uint32_t has_image;
    uint32_t has_environment;
    uint32_t has_current_dir;
    uint32_t image_chars;
    uint32_t command_chars;
    uint32_t command_overflow;
};
struct ProcessCreateReply {
    uint32_t process;  // the caller's handles
    uint32_t thread;
    uint32_t process_id;  // CE 5: the handles
    uint32_t thread_id;
};
// ProcessOpen: OpenProcess, or with `thread` OpenThread (CE 6). Errors: ERROR_INVALID_PARAMETER
// (inherit, not a process or thread id), ERROR_OUTOFMEMORY (no room for the reference),
// ERROR_CALL_NOT_IMPLEMENTED (OpenThread in CE 5).
struct ProcessOpenRequest {
    uint32_t id;
    uint32_t inherit;
    uint32_t thread;
    uint32_t reserved;
};
struct ProcessOpenReply {
    uint32_t handle;
    uint32_t reserved;
};
// ProcessControl: GetExitCodeProcess (value: the code), TerminateProcess (value
// kTerminatedCaller when the target was the caller itself, CE 6), ExitProcess (`op`, ProcessOp;
// `code` the exit code). Errors: ERROR_INVALID_HANDLE (no such process; CE 6: one already
// exiting), ERROR_ACCESS_DENIED (CE 5: terminating an exiting process or the caller itself; one
// the kernel cannot kill), ERROR_INVALID_PARAMETER (unknown op).
using ce::ProcessOp;
struct ProcessControlRequest {
    uint32_t handle;
    uint32_t op;
    uint32_t code;
    uint32_t reserved;
};
struct ProcessControlReply {
    uint32_t value;
    uint32_t reserved;
};
inline constexpr uint32_t kTerminatedCaller = 2;
// The longest command line ProcessCreate carries itself (with a MAX_PATH image name); a longer
// one is staged (StageText), up to kProcessCommandLongest.
inline constexpr uint32_t kProcessCommandInline =
    (kRequestBytes - sizeof(RequestHeader) - sizeof(ProcessCreateRequest)) / 2 - ce::kMaxPath;
using ce::kProcessCommandLongest;

// Message bytes that fit in one request after a MsgQueueWrite, or in one reply after a
// MsgQueueReadReply.
inline constexpr uint32_t kMsgQueueWriteInline =
    kRequestBytes - sizeof(RequestHeader) - sizeof(MsgQueueWriteRequest);
inline constexpr uint32_t kMsgQueueReadInline =
    kReplyBytes - sizeof(ReplyHeader) - sizeof(MsgQueueReadReply);

// ---- Registry (ce-kernel-objects.md §6; docs/semantics/registry.md). Every registry call
// answers its Win32 code in the reply header and the shim returns it: the last error is never
// touched. `hkey` is a root (0x80000000-0x80000003) or a key handle. Names and paths travel as
// UTF-16 units after the fixed part: a name at most 256 units (enough to see it is too long), a
// path at most kRegPathMaxChars in the request (a longer one is staged first: StageText).
using ce::kRegCreatedNewKey;
using ce::kRegOpenedExistingKey;
using ce::kRegOptionVolatile;

// RegCreateKey: RegCreateKeyExW; `subkey_chars` units of path, then `class_chars` of class.
// Errors: ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER (a name over 255, an empty part, a
// class over 255, deeper than 16 levels), ERROR_KEY_DELETED, ERROR_NO_MORE_USER_HANDLES.
struct RegCreateKeyRequest {
    uint32_t hkey;
    uint32_t options;  // kRegOptionVolatile
    uint32_t subkey_chars;
    uint32_t class_chars;
};
struct RegCreateKeyReply {
    uint32_t hkey;
    uint32_t disposition;  // kRegCreatedNewKey or kRegOpenedExistingKey
};

// RegOpenKey: RegOpenKeyExW (an empty path: a new handle to `hkey`). ERROR_FILE_NOT_FOUND.
struct RegOpenKeyRequest {
    uint32_t hkey;
    uint32_t subkey_chars;
};
struct RegOpenKeyReply {
    uint32_t hkey;
    uint32_t reserved;
};

// RegCloseKey: with flush-on-close, the flush's error (the key is closed anyway).
struct RegCloseKeyRequest {
    uint32_t hkey;
    uint32_t reserved;
};
struct RegCloseKeyReply {
    uint32_t reserved;
    uint32_t reserved2;
};

// RegQueryValue: `name_chars` units of name follow. The reply carries the value's type, size,
// stamp and its bytes from `offset` on, as many as fit; a value larger than that is read in
// parts with `offset` > 0 and the first reply's `stamp`: ERROR_INVALID_DATA when the value
// changed in between (the shim starts again). ERROR_FILE_NOT_FOUND.
struct RegQueryValueRequest {
    uint32_t hkey;
    uint32_t name_chars;
    uint32_t offset;
    uint32_t reserved;
    uint64_t stamp;  // with offset > 0
};
struct RegQueryValueReply {
    uint32_t type;
    uint32_t size;
    uint64_t stamp;
};

// RegSetValue: `name_chars` units of name, then data bytes [offset, offset + sent) of a value
// of `total` bytes. A value that fits goes whole (offset 0); a larger one in parts staged per
// thread, set when the last part arrives. Reply `staged`: bytes staged, `total` once set.
// Errors: ERROR_INVALID_PARAMETER (name over 255, total over 4096, a part out of order).
struct RegSetValueRequest {
    uint32_t hkey;
    uint32_t type;
    uint32_t name_chars;
    uint32_t total;
    uint32_t offset;
    uint32_t reserved;
};
struct RegSetValueReply {
    uint32_t staged;
    uint32_t reserved;
};

// RegDeleteKey: the key and all its subkeys. ERROR_INVALID_PARAMETER (empty path),
// ERROR_FILE_NOT_FOUND.
struct RegDeleteKeyRequest {
    uint32_t hkey;
    uint32_t subkey_chars;
};
struct RegDeleteKeyReply {
    uint32_t reserved;
    uint32_t reserved2;
};

// RegDeleteValue: ERROR_FILE_NOT_FOUND.
struct RegDeleteValueRequest {
    uint32_t hkey;
    uint32_t name_chars;
};
struct RegDeleteValueReply {
    uint32_t reserved;
    uint32_t reserved2;
};

// RegEnumKey: the subkey at `index`; its name and class follow the reply. ERROR_NO_MORE_ITEMS.
struct RegEnumKeyRequest {
    uint32_t hkey;
    uint32_t index;
};
struct RegEnumKeyReply {
    uint32_t name_chars;
    uint32_t class_chars;
    uint32_t flags;  // kRegOptionVolatile for a volatile key
    uint32_t reserved;
};

// RegEnumValue: the value at `index`; its name, then its first bytes (as many as fit; the
// rest by RegQueryValue with `stamp`). ERROR_NO_MORE_ITEMS.
struct RegEnumValueRequest {
    uint32_t hkey;
    uint32_t index;
};
struct RegEnumValueReply {
    uint32_t name_chars;
    uint32_t type;
    uint32_t size;
    uint32_t reserved;
    uint64_t stamp;
};

// RegQueryInfo: RegQueryInfoKeyW's counts; the class follows.
struct RegQueryInfoRequest {
    uint32_t hkey;
    uint32_t reserved;
};
struct RegQueryInfoReply {
    uint32_t subkeys;
    uint32_t max_subkey_chars;
    uint32_t max_class_chars;
    uint32_t values;
    uint32_t max_value_name_chars;
    uint32_t max_value_bytes;
    uint32_t class_chars;
    uint32_t reserved;
};

// RegFlushKey: writes the dirty data of the key's hive durably. ERROR_NOT_SUPPORTED without
// hive files (memory only), ERROR_WRITE_FAULT when the write failed.
struct RegFlushKeyRequest {
    uint32_t hkey;
    uint32_t reserved;
};
struct RegFlushKeyReply {
    uint32_t reserved;
    uint32_t reserved2;
};

inline constexpr uint32_t kRegNameMaxChars = 256;
inline constexpr uint32_t kRegPathMaxChars =
    (kRequestBytes - sizeof(RequestHeader) - sizeof(RegCreateKeyRequest)) / 2 - kRegNameMaxChars;
// The longest path that can name a key (fsys::registry::kMaxPathChars): 15 names of 255 units
// below a root (CE's 16 levels), their separators, a leading and a trailing one; rounded up.
// Longer paths are refused at once.
inline constexpr uint32_t kRegPathLongest = 4096;
inline constexpr uint32_t kRegValueReplyInline =
    kReplyBytes - sizeof(ReplyHeader) - sizeof(RegQueryValueReply);
inline constexpr uint32_t kRegEnumValueInline =
    kReplyBytes - sizeof(ReplyHeader) - sizeof(RegEnumValueReply);
// Value bytes a RegSetValue request with a name of `name_chars` units can carry.
constexpr uint32_t reg_set_value_inline(uint32_t name_chars) {
    return kRequestBytes - sizeof(RequestHeader) - sizeof(RegSetValueRequest) - 2 * name_chars;
}

#define CEK_REQUEST(name)                                                                  \
    static_assert(std::is_trivially_copyable_v<name##Request> &&                           \
                      std::is_standard_layout_v<name##Request> &&                          \
                      sizeof(name##Request) % 8 == 0,                                      \
                  #name "Request must be a fixed, padded layout");                         \
    static_assert(std::is_trivially_copyable_v<name##Reply> &&                             \
                      std::is_standard_layout_v<name##Reply> && sizeof(name##Reply) % 8 == 0, \
                  #name "Reply must be a fixed, padded layout");
#include "requests.def"
#undef CEK_REQUEST
static_assert(sizeof(RequestHeader) == 16 && sizeof(ReplyHeader) == 16);
static_assert(sizeof(MapViewReply) == 72 && sizeof(CreateMappingRequest) == 24);
static_assert(sizeof(UnmapViewReply) == 56);

// Maps a request struct to its code, for the client's typed call<>() helper.
template <class Request>
struct RequestTraits;
#define CEK_REQUEST(name)                                     \
    template <>                                               \
    struct RequestTraits<name##Request> {                     \
        static constexpr RequestCode kCode = RequestCode::name; \
        using Reply = name##Reply;                            \
    };
#include "requests.def"
#undef CEK_REQUEST

}  // namespace cek::proto
