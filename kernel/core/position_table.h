// PositionTable: one process's table of file positions (protocol/file_position.h,
// docs/decisions/0015-file-position.md). The kernel makes it at the process's FilePositions
// call, shares its memfd with that process alone and gives each file object the process uses
// alone a slot in it. The process and every file object with a slot hold a reference: a slot
// stays the file's until the file closes, even after the process is gone.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "fsys/unique_fd.h"
#include "kernel/core/ref.h"
#include "protocol/file_position.h"

namespace cek::kernel {

class PositionTable final : public RefCounted {
public:
    // A table of proto::kPositionSlots slots, or nullptr (errno set) when no memfd could be made.
    static Ref<PositionTable> create();
    ~PositionTable() override;

    int fd() const { return fd_.get(); }
    uint64_t dev() const { return dev_; }
    uint64_t ino() const { return ino_; }

    struct Slot {
        uint32_t index;
        uint16_t generation;
    };
    // A free slot holding `position`, or nullopt when every slot is taken.
    std::optional<Slot> assign(uint64_t position);
    // The slot's file closed: it may go to another file, under a new generation.
    void free(Slot slot);
    // What the process claims the slot's position is: nullopt when the word is not that file's
    // (another generation) or holds no position.
    std::optional<uint64_t> position(Slot slot) const;
    // Takes the position over for the open file description: swaps kPositionMoving in, calls
    // `move(position)` with the claim (nullopt as above), then marks the slot shared.
    template <class Move>
    void take_over(Slot slot, Move&& move) {
        std::atomic<uint64_t>& w = words_[slot.index];
        const uint64_t moving = proto::position_word(slot.generation, proto::kPositionMoving);
        const uint64_t was = w.exchange(moving, std::memory_order_acq_rel);
        move(claim(was, slot.generation));
        w.store(proto::position_word(slot.generation, proto::kPositionShared),
                std::memory_order_release);
    }

private:
    PositionTable(fsys::UniqueFd fd, uint64_t dev, uint64_t ino, std::atomic<uint64_t>* words);
    static std::optional<uint64_t> claim(uint64_t word, uint16_t generation);

    fsys::UniqueFd fd_;
    uint64_t dev_;
    uint64_t ino_;
    std::atomic<uint64_t>* words_;  // the kernel's mapping of the memfd
    std::vector<uint16_t> generations_;  // per slot: the last generation given
    std::deque<uint32_t> free_;  // free slots, the longest free first (generations last)
};

}  // namespace cek::kernel
