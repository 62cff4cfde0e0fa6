// File positions a process keeps itself (docs/decisions/0015-file-position.md).
//
// A CE file position belongs to the file object and every handle of it shares one, in every
// process. While a single process uses a file object, its position lives in that process's
// table of positions (a memfd the kernel shares with it alone: FilePositions), so that
// SetFilePointer is an atomic operation in memory and ReadFile / WriteFile are one pread /
// pwrite. When a second process asks for the file's descriptor (or calls SetEndOfFile), the
// kernel moves the position into the open file description that every process shares and marks
// the slot shared; from then on every holder uses that description's offset.
//
// A slot is one 64-bit word:
//   bits 48-63  the generation the kernel gave the slot for this file (never 0)
//   bits 0-47   the position, or kPositionShared (the description holds it) or kPositionMoving
//               (the kernel is moving it there: callers wait a moment and look again)
// The process changes a word only by compare-and-swap from a value with its generation and a
// position, so a kernel takeover (one swap) is never lost. Reads are redone when the word
// moved under them (they change nothing); writes reserve their range before they write.
//
// Trust: the process can write anything into its own table. The kernel reads a slot as a claim
// about that process's own file, and checks the generation and the range before it uses one.
// This header names no Win32 error: the shim includes it beside <windows.h>.
#pragma once

#include <atomic>
#include <cstdint>

namespace cek::proto {

inline constexpr uint32_t kPositionSlots = 512;
inline constexpr uint64_t kPositionTableBytes = kPositionSlots * sizeof(uint64_t);  // one page
inline constexpr uint64_t kPositionMask = (uint64_t{1} << 48) - 1;
inline constexpr uint64_t kPositionShared = kPositionMask;
inline constexpr uint64_t kPositionMoving = kPositionMask - 1;
// The largest position a slot holds; a seek beyond it fails as a seek beyond the host's
// largest file does (ext4: 16 TiB).
inline constexpr uint64_t kPositionMax = kPositionMask - 2;

constexpr uint16_t position_generation(uint64_t w) { return static_cast<uint16_t>(w >> 48); }
constexpr uint64_t position_value(uint64_t w) { return w & kPositionMask; }
constexpr uint64_t position_word(uint16_t generation, uint64_t position) {
    return uint64_t{generation} << 48 | (position & kPositionMask);
}

// FileDescriptorReply::position: where the file's position lives for the caller. 0: in the open
// file description (shared); otherwise its slot and generation in the caller's table.
constexpr uint32_t position_ref(uint32_t slot, uint16_t generation) {
    return uint32_t{generation} << 16 | slot;
}
constexpr uint32_t position_ref_slot(uint32_t ref) { return ref & 0xFFFF; }
constexpr uint16_t position_ref_generation(uint32_t ref) { return static_cast<uint16_t>(ref >> 16); }

}  // namespace cek::proto
