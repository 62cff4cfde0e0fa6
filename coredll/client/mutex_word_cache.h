// MutexWordCache: per process, the shared word (protocol/mutex_word.h) behind each mutex handle
// this process made with CreateMutexW (docs/decisions/0013-mutex-word.md). The first wait or
// release through such a handle asks the kernel for the word (MutexWord) and maps it, once per
// mutex; later ones take and release an unowned or own mutex with one compare-and-swap, and go
// to the kernel whenever the word says the kernel holds the state (a thread waits, an
// abandonment is to be told) or the caller is not the owner.
//
// This process's CloseHandle (or DuplicateHandle with DUPLICATE_CLOSE_SOURCE) of a value drops
// its entry. Handles this process did not make with CreateMutexW (duplicated, inherited, a
// value another process gave it) always go to the kernel. Not seen, as for the message-queue
// rings: another process closing one of this process's values (CE 6's DuplicateHandle with
// DUPLICATE_CLOSE_SOURCE); the entry stays until this process closes the value.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace cek::coredll {

// One mutex's word mapped in this process (shared by its handles here).
class MappedMutexWord {
public:
    MappedMutexWord(void* page, uint64_t object_id) : page_(page), object_id_(object_id) {}
    ~MappedMutexWord();
    MappedMutexWord(const MappedMutexWord&) = delete;
    MappedMutexWord& operator=(const MappedMutexWord&) = delete;

    std::atomic<uint64_t>& word() const { return *static_cast<std::atomic<uint64_t>*>(page_); }
    uint64_t object_id() const { return object_id_; }

private:
    void* page_;
    uint64_t object_id_;
};

class MutexWordCache {
public:
    static MutexWordCache& instance();

    // CreateMutexW gave this process `handle`.
    void note_mutex(uint32_t handle);
    // The word behind `handle`, asking the kernel at the handle's first use; null when the
    // call must go to the kernel (not a mutex this process made, no word, the kernel gone).
    std::shared_ptr<MappedMutexWord> get(uint32_t handle);
    // This process closed `handle`.
    void forget(uint32_t handle);

    void lock() { mutex_.lock(); }
    void unlock() { mutex_.unlock(); }
    void reset_after_fork();

private:
    struct Entry {
        bool asked = false;  // the kernel was asked; `word` is its answer
        std::shared_ptr<MappedMutexWord> word;
    };
    std::shared_ptr<MappedMutexWord> ask(uint32_t handle);

    std::mutex mutex_;
    std::unordered_map<uint32_t, Entry> handles_;
    std::unordered_map<uint64_t, std::weak_ptr<MappedMutexWord>> words_;  // by object id
    uint64_t forgets_ = 0;  // closes so far: an answer that crossed one is not kept
};

}  // namespace cek::coredll
