// CE constant values that travel in requests (protection, access, flags). The kernel uses these
// cek:: names; only coredll's <windows.h> spells them the Win32 way.
#pragma once

#include <cstdint>

namespace cek::ce {

inline constexpr uint32_t kInvalidHandle = 0xFFFFFFFFu;  // INVALID_HANDLE_VALUE on the wire

// Page protection (CreateFileMapping).
inline constexpr uint32_t kPageReadOnly = 0x02;
inline constexpr uint32_t kPageReadWrite = 0x04;
inline constexpr uint32_t kSecCommit = 0x08000000;
inline constexpr uint32_t kPageInternalDbMapping = 0x20000000;

// View access (MapViewOfFile).
inline constexpr uint32_t kFileMapCopy = 0x0001;
inline constexpr uint32_t kFileMapWrite = 0x0002;
inline constexpr uint32_t kFileMapRead = 0x0004;
inline constexpr uint32_t kFileMapAllAccess = 0x000F001F;

// Object names: at most MAX_PATH - 1 characters (CE 5: longer gives ERROR_INVALID_PARAMETER).
inline constexpr uint32_t kMaxNameChars = 259;

// File access, sharing, creation flags (CreateFileW, CreateFileForMappingW).
inline constexpr uint32_t kGenericRead = 0x80000000;
inline constexpr uint32_t kGenericWrite = 0x40000000;
inline constexpr uint32_t kGenericAll = 0x10000000;
inline constexpr uint32_t kFileReadData = 0x0001;
inline constexpr uint32_t kFileWriteData = 0x0002;
inline constexpr uint32_t kFileAppendData = 0x0004;
inline constexpr uint32_t kFileShareRead = 0x1;
inline constexpr uint32_t kFileShareWrite = 0x2;
inline constexpr uint32_t kFileShareWriteOverride = 0x40000000;  // CE 5 CreateFileForMapping
inline constexpr uint32_t kCreateNew = 1;
inline constexpr uint32_t kCreateAlways = 2;
inline constexpr uint32_t kOpenAlways = 4;
inline constexpr uint32_t kTruncateExisting = 5;
inline constexpr uint32_t kFileFlagWriteThrough = 0x80000000;
inline constexpr uint32_t kFileFlagRandomAccess = 0x10000000;
inline constexpr uint32_t kFileFlagSequentialScan = 0x08000000;
inline constexpr uint32_t kFileFlagBackupSemantics = 0x02000000;
inline constexpr uint32_t kFileAttributeMask = 0x0000FFFF;


// Waits (WaitForMultipleObjects): at most MAXIMUM_WAIT_OBJECTS handles; INFINITE.
inline constexpr uint32_t kMaxWaitObjects = 64;
inline constexpr uint32_t kWaitInfinite = 0xFFFFFFFFu;

// Pseudo-handles and DuplicateHandle options.
inline constexpr uint32_t kCurrentProcessHandle = 0x42;
inline constexpr uint32_t kCurrentThreadHandle = 0x41;
inline constexpr uint32_t kDuplicateCloseSource = 1;
inline constexpr uint32_t kDuplicateSameAccess = 2;

// SetEvent, ResetEvent, PulseEvent: one request with an operation (our encoding, not CE's).
enum class EventOp : uint32_t { Set = 1, Reset = 2, Pulse = 3 };

// Message queues (msgqueue.h; ce-kernel-objects.md §5.2).
inline constexpr uint32_t kMsgQueueNoPrecommit = 1;
inline constexpr uint32_t kMsgQueueAllowBroken = 2;
inline constexpr uint32_t kMsgQueueInternalFlag = 0x80000000u;  // stripped at creation
inline constexpr uint32_t kMsgQueueMsgAlert = 1;                // a message's flag
inline constexpr uint32_t kMsgQueueOptionsSize = 20;            // sizeof(MSGQUEUEOPTIONS)
inline constexpr uint32_t kMsgQueueInfoSize = 28;               // sizeof(MSGQUEUEINFO)
inline constexpr uint32_t kMsgQueueMaxMessageBytes = 0x100000;  // cbMaxMessage: 1 MiB
inline constexpr uint32_t kMsgQueueMaxMessages = 0x100000;
inline constexpr uint64_t kMsgQueuePrecommitLimit = uint64_t{16} << 20;  // cbMax x dwMax
inline constexpr uint32_t kMsgQueueMaxNameChars = 257;

// Registry (ce-kernel-objects.md §6).
inline constexpr uint32_t kRegOptionVolatile = 1;  // REG_OPTION_VOLATILE
inline constexpr uint32_t kRegCreatedNewKey = 1;
inline constexpr uint32_t kRegOpenedExistingKey = 2;
// Threads (ce-kernel-objects.md §2).
inline constexpr uint32_t kCreateSuspended = 0x4;
inline constexpr uint32_t kStackSizeParamIsAReservation = 0x10000;
inline constexpr uint32_t kStillActive = 0x103;
// The priority and quantum calls: one request with an operation (our encoding, not CE's).
enum class ThreadOp : uint32_t {
    GetPriority = 1,    // GetThreadPriority: 0-7
    SetPriority = 2,    // SetThreadPriority
    CeGetPriority = 3,  // CeGetThreadPriority: 0-255
    CeSetPriority = 4,  // CeSetThreadPriority
    GetQuantum = 5,     // CeGetThreadQuantum
    SetQuantum = 6,     // CeSetThreadQuantum
};
// SuspendThread, ResumeThread, TerminateThread: one request with an operation.
// AwaitResume: the calling thread, held in the kernel (a program created suspended), waits
// there until its count is 0.
enum class ThreadControlOp : uint32_t { Suspend = 1, Resume = 2, Terminate = 3, AwaitResume = 4 };
// Processes (ce-kernel-objects.md §1).
inline constexpr uint32_t kDebugProcess = 0x1;
inline constexpr uint32_t kDebugOnlyThisProcess = 0x2;
inline constexpr uint32_t kCreateNewConsole = 0x10;
inline constexpr uint32_t kInheritCallerPriority = 0x20000;
inline constexpr uint32_t kCreateNoDemandPaging = 0x80000000;  // CE's internal loader flag
inline constexpr uint32_t kCreateProcessFlags = kDebugProcess | kDebugOnlyThisProcess |
                                                kCreateSuspended | kCreateNewConsole |
                                                kInheritCallerPriority | kCreateNoDemandPaging;
inline constexpr uint32_t kMaxPath = 260;  // MAX_PATH: CreateProcessW's image name is shorter
// CE 5's 32 slots, one of them NK.exe's: the processes CreateProcessW can make room for.
inline constexpr uint32_t kCe5MaxProcesses = 31;
// The longest command line the kernel takes. CE 5 sets no limit (CE 6: 16383 units); the host's
// limit on one environment string, 128 KiB, holds 32767 units at 3 UTF-8 bytes each.
inline constexpr uint32_t kProcessCommandLongest = 32767;
// What a text staged before the request that uses it is for (StageText, protocol/messages.h).
enum StagePurpose : uint32_t {
    kStageRegistryPath = 0,
    kStageCommandLine = 1,
};
// The calls on a process: one request with an operation.
enum class ProcessOp : uint32_t {
    ExitCode = 1,   // GetExitCodeProcess
    Terminate = 2,  // TerminateProcess
    Exit = 3,       // ExitProcess, or the end of main: the code, before the host process exits
};
// The id calls of CE 6 on a handle: one request with a query.
enum class IdQuery : uint32_t {
    Thread = 1,           // GetThreadId
    Process = 2,          // GetProcessId
    ProcessOfThread = 3,  // GetProcessIdOfThread
};

}  // namespace cek::ce
