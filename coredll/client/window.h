// The client's half of the shared mapping window: the reservation made at start-up and the
// mappings this process has mapped into it.
//
// The range is reserved PROT_NONE at load time (a constructor), so nothing else can land there.
// The first view of a mapping maps the mapping's whole range (MAP_SHARED|MAP_FIXED over the
// reservation); when the kernel reports this process's last view of it gone, the range goes
// back to PROT_NONE in one call, never munmap, so no hole ever opens. The kernel decides
// addresses; map and unmap are serialised per process (lock()) so that an address the kernel
// reuses is never remapped here while an older mapping of it is being torn down.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

namespace cek::coredll {

class Window {
public:
    static Window& instance();

    // Makes sure [base, base + size) is reserved here (moving the reservation if the kernel
    // announced another one). False when that range cannot be had.
    bool adopt(uint64_t base, uint64_t size);

    struct Range {
        uint64_t base = 0;
        uint64_t length = 0;
        bool writable = false;
        bool file_backed = false;
    };

    // Maps `fd` over the mapping's range. False (errno set) if the host refuses.
    bool map(uint64_t base, uint64_t length, int fd, bool writable, bool file_backed);
    void release(uint64_t base, uint64_t length);
    // Whether `address` lies in a mapping this process has mapped; its range if so.
    bool mapped_here(uint64_t address, Range& range) const;

    // After fork(): the child starts with an empty window (CE: a new process has no views).
    void reset_after_fork();

    std::mutex& lock() { return mutex_; }

private:
    Window();
    bool reserve(uint64_t base, uint64_t size);

    uint64_t base_ = 0;
    uint64_t size_ = 0;
    std::map<uint64_t, Range> mapped_;  // by base
    std::mutex mutex_;
};

}  // namespace cek::coredll
