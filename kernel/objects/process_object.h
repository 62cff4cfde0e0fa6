// ProcessObject: a CE process (ce-kernel-objects.md §1). Its handle value is its id (CE 5:
// GetCurrentProcessId, dwProcessId and hProcess are one value); it is waitable, signalled once
// the process is gone, and it stays signalled. It outlives the kernel's record of the process
// (Kernel::Process) for as long as a handle names it, so the exit code stays readable.
//
// A process is gone once the kernel has detached it (every handle and view it held released)
// and, for a program the kernel started itself, once the kernel has reaped it too: the exit
// status is then known (docs/decisions/0011-processes.md).
#pragma once

#include <cstdint>
#include <string>

#include "kernel/core/ids.h"
#include "kernel/objects/waitable.h"

namespace cek::kernel {

class ProcessObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Process;
    static constexpr uint32_t kStillActive = 0x103;

    // `image`: the CE path of the program, or the host path of one started from a shell.
    // `child`: the kernel started it (CreateProcessW) and will reap it.
    ProcessObject(ProcessId process, std::u16string image, uint32_t parent, bool child)
        : Waitable(kType),
          process_(process),
          image_(std::move(image)),
          parent_(parent),
          child_(child) {}

    ProcessId process() const { return process_; }
    HandleValue handle() const { return handle_; }  // its id
    void set_handle(HandleValue h) { handle_ = h; }
    const std::u16string& image() const { return image_; }
    // The file-name part of the image: toolhelp's szExeFile.
    std::u16string exe_name() const;
    uint32_t parent() const { return parent_; }  // the creator's id; 0 for a shell's program
    bool child() const { return child_; }
    int pid() const { return pid_; }
    void set_pid(int pid) { pid_ = pid; }

    // The first recorded code wins (ExitProcess, TerminateProcess, the primary thread's exit,
    // the host's exit status; ce-kernel-objects.md §1.4). True when this call recorded it.
    bool record_exit_code(uint32_t code);
    bool has_exit_code() const { return has_code_; }
    uint32_t recorded_exit_code() const { return code_; }  // meaningful with has_exit_code()
    // Termination started (TerminateProcess, or the kernel saw the process die): a second
    // TerminateProcess is refused (CE 5: ERROR_ACCESS_DENIED).
    bool exiting() const { return exiting_ || detached_ || ended_; }
    void set_exiting() { exiting_ = true; }

    // The kernel detached the process / reaped its host process. ended() once both are done
    // (a process the kernel did not start is never reaped here).
    void set_detached() { detached_ = true; }
    void set_reaped() { reaped_ = true; }
    bool detached() const { return detached_; }
    bool reaped() const { return reaped_; }
    bool ready_to_end() const { return detached_ && (reaped_ || !child_); }
    void end() { ended_ = true; }
    bool ended() const { return ended_; }
    uint32_t exit_code() const { return ended_ ? code_ : kStillActive; }

    bool ready_for(ThreadRef) const override { return ended_; }
    bool available() const override { return ended_; }
    bool acquire_spends() const override { return false; }
    bool acquire(ThreadRef) override { return false; }

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    ProcessId process_;
    std::u16string image_;
    uint32_t parent_;
    bool child_;
    HandleValue handle_{};
    int pid_ = 0;
    bool has_code_ = false;
    uint32_t code_ = 0;
    bool exiting_ = false;
    bool detached_ = false;
    bool reaped_ = false;
    bool ended_ = false;
};

}  // namespace cek::kernel
