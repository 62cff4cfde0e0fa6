// MemoryBudget: the kernel memory each process makes the kernel hold for it beyond its handle
// entries (its open searches and its stored snapshot), counted per process and capped, so that
// no client can grow the kernel without bound within its handle quota. A call that would take a
// process past its limit fails with ERROR_NOT_ENOUGH_MEMORY, CE's error for an allocation that
// failed; what it already holds keeps working, and closing or dying gives the bytes back.
//
// Threading: the kernel's one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include "kernel/core/ids.h"

namespace cek::kernel {

class MemoryBudget {
public:
    static constexpr size_t kDefaultLimit = size_t{16} << 20;  // per process

    // Bytes held for one process until it is destroyed (or released).
    class Charge {
    public:
        Charge() = default;
        Charge(Charge&& o) noexcept { *this = std::move(o); }
        Charge& operator=(Charge&& o) noexcept {
            if (this != &o) {
                release();
                ledger_ = std::move(o.ledger_);
                process_ = o.process_;
                bytes_ = std::exchange(o.bytes_, 0);
            }
            return *this;
        }
        Charge(const Charge&) = delete;
        Charge& operator=(const Charge&) = delete;
        ~Charge() { release(); }

        size_t bytes() const { return bytes_; }
        void release() {
            if (!ledger_ || bytes_ == 0) return;
            auto it = ledger_->find(process_);
            if (it != ledger_->end() && (it->second -= bytes_) == 0) ledger_->erase(it);
            bytes_ = 0;
        }

    private:
        friend class MemoryBudget;
        std::shared_ptr<std::unordered_map<ProcessId, size_t>> ledger_;
        ProcessId process_{};
        size_t bytes_ = 0;
    };

    explicit MemoryBudget(size_t limit = kDefaultLimit) : limit_(limit) {}

    // `bytes` more for `process`, or nullopt when that would pass its limit.
    std::optional<Charge> charge(ProcessId process, size_t bytes) {
        size_t& used = (*ledger_)[process];
        if (bytes > limit_ || used > limit_ - bytes) {
            if (used == 0) ledger_->erase(process);
            return std::nullopt;
        }
        used += bytes;
        Charge c;
        c.ledger_ = ledger_;
        c.process_ = process;
        c.bytes_ = bytes;
        return c;
    }
    size_t used(ProcessId process) const {
        auto it = ledger_->find(process);
        return it == ledger_->end() ? 0 : it->second;
    }
    size_t limit() const { return limit_; }

private:
    size_t limit_;
    // Shared with the charges, which may outlive the budget during teardown.
    std::shared_ptr<std::unordered_map<ProcessId, size_t>> ledger_ =
        std::make_shared<std::unordered_map<ProcessId, size_t>>();
};

}  // namespace cek::kernel
