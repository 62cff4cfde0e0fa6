// ThreadObject: a CE thread (ce-kernel-objects.md §2). Its handle value is its thread id (CE 5),
// it belongs to a kernel process record (the process object, when there is one, will sit beside
// it), and it is waitable: signalled once the thread is gone, and it stays signalled.
//
// The kernel keeps what CE's kernel keeps for a thread: the exit code (STILL_ACTIVE until the
// first recorded exit), the base priority (0-255, 251 by default), the quantum and the suspend
// count. The host thread itself is a pthread of the application; stopping it is the shim's part
// (docs/decisions/0010-threads.md), told by the count's changes.
#pragma once

#include <cstdint>
#include <optional>

#include "kernel/core/ids.h"
#include "kernel/objects/waitable.h"

namespace cek::kernel {

class ThreadObject final : public Waitable {
public:
    static constexpr ObjectType kType = ObjectType::Thread;
    static constexpr uint32_t kStillActive = 0x103;
    static constexpr uint32_t kDefaultPriority = 251;  // THREAD_PRIORITY_NORMAL's CE level
    static constexpr uint32_t kDefaultQuantum = 100;   // ms
    static constexpr uint32_t kMaxSuspend = 127;       // MAX_SUSPEND_COUNT

    // `created`: made by CreateThread (not yet running until start()); otherwise a thread the
    // kernel met first in a call (the main thread, a pthread) and adopted.
    ThreadObject(ProcessId process, uint32_t tid, bool created, uint32_t suspend_count)
        : Waitable(kType),
          process_(process),
          tid_(tid),
          created_(created),
          suspend_count_(suspend_count) {}

    ProcessId process() const { return process_; }
    uint32_t tid() const { return tid_; }  // 0 until the created thread starts
    void start(uint32_t tid) { tid_ = tid; }
    bool created() const { return created_; }
    HandleValue handle() const { return handle_; }  // its handle value: GetCurrentThreadId
    void set_handle(HandleValue h) { handle_ = h; }

    bool exited() const { return exited_; }
    uint32_t exit_code() const { return exited_ ? exit_code_ : kStillActive; }
    // The first recorded exit wins (CE 5: a later kill does not overwrite the code). True when
    // this call ended the thread.
    bool exit(uint32_t code);

    uint32_t priority() const { return priority_; }
    void set_priority(uint32_t p) { priority_ = p; }
    uint32_t quantum() const { return quantum_; }
    void set_quantum(uint32_t q) { quantum_ = q; }

    uint32_t suspend_count() const { return suspend_count_; }
    void set_suspend_count(uint32_t n) {
        suspend_count_ = n;
        ++sequence_;
    }
    // Bumped by every change of the suspend count: the shim applies changes in this order.
    uint32_t sequence() const { return sequence_; }

    // A thread held in the kernel rather than on a word of its own process (the primary thread
    // of a program created suspended, until it runs): any process may suspend and resume it.
    bool held_in_kernel() const { return held_in_kernel_; }
    void set_held_in_kernel(bool held) { held_in_kernel_ = held; }
    // The thread's own call waiting there for its count to reach 0 (its transport tag).
    std::optional<uint64_t> resume_tag;

    bool ready_for(ThreadRef) const override { return exited_; }
    bool available() const override { return exited_; }
    bool acquire_spends() const override { return false; }
    bool acquire(ThreadRef) override { return false; }

    void describe(ObjectDetails& out) const override;
    size_t memory_bytes() const override;

private:
    ProcessId process_;
    uint32_t tid_;
    bool created_;
    HandleValue handle_{};
    bool exited_ = false;
    uint32_t exit_code_ = 0;
    uint32_t priority_ = kDefaultPriority;
    uint32_t quantum_ = kDefaultQuantum;
    uint32_t suspend_count_;
    uint32_t sequence_ = 0;
    bool held_in_kernel_ = false;
};

}  // namespace cek::kernel
