#include "kernel/core/position_table.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <numeric>

#include "kernel/core/memfd.h"

namespace cek::kernel {

Ref<PositionTable> PositionTable::create() {
    fsys::UniqueFd fd(make_memfd("cek-positions", proto::kPositionTableBytes, F_SEAL_SEAL));
    if (!fd.valid()) return nullptr;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return nullptr;
    void* page = ::mmap(nullptr, proto::kPositionTableBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                        fd.get(), 0);
    if (page == MAP_FAILED) return nullptr;
    return Ref<PositionTable>(new PositionTable(std::move(fd), st.st_dev, st.st_ino,
                                                static_cast<std::atomic<uint64_t>*>(page)));
}

PositionTable::PositionTable(fsys::UniqueFd fd, uint64_t dev, uint64_t ino,
                             std::atomic<uint64_t>* words)
    : fd_(std::move(fd)),
      dev_(dev),
      ino_(ino),
      words_(words),
      generations_(proto::kPositionSlots, 0),
      free_(proto::kPositionSlots) {
    std::iota(free_.begin(), free_.end(), 0u);
}

PositionTable::~PositionTable() { ::munmap(words_, proto::kPositionTableBytes); }

std::optional<PositionTable::Slot> PositionTable::assign(uint64_t position) {
    if (free_.empty() || position > proto::kPositionMax) return std::nullopt;
    // The slot free the longest: a process that opens and closes files in a loop goes round
    // the table, so a slot's generation comes back only after 65,535 times 512 files.
    const uint32_t index = free_.front();
    free_.pop_front();
    uint16_t& generation = generations_[index];
    if (++generation == 0) generation = 1;  // 0 never names a file
    words_[index].store(proto::position_word(generation, position), std::memory_order_release);
    return Slot{index, generation};
}

void PositionTable::free(Slot slot) {
    // A thread of the process still inside a call on the closed file finds another generation
    // here and fails that call; it never moves the next file's position.
    words_[slot.index].store(0, std::memory_order_release);
    free_.push_back(slot.index);
}

std::optional<uint64_t> PositionTable::position(Slot slot) const {
    return claim(words_[slot.index].load(std::memory_order_acquire), slot.generation);
}

std::optional<uint64_t> PositionTable::claim(uint64_t word, uint16_t generation) {
    if (proto::position_generation(word) != generation) return std::nullopt;
    const uint64_t at = proto::position_value(word);
    if (at > proto::kPositionMax) return std::nullopt;
    return at;
}

}  // namespace cek::kernel
