#include "coredll/client/window.h"

#include <sys/mman.h>

#include <cerrno>

#include "coredll/client/log.h"
#include "protocol/window.h"

namespace cek::coredll {

namespace {
constexpr int kReserveFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
}

Window& Window::instance() {
    // Never destroyed: views must outlive static destructors of the application.
    static Window* window = new Window();
    return *window;
}

Window::Window() {
    auto cfg = proto::window_config_from_env();
    if (!reserve(cfg.base, cfg.size))
        log()->warn("cannot reserve the mapping window at {:#x}+{:#x} (errno {})", cfg.base,
                    cfg.size, errno);
}

bool Window::reserve(uint64_t base, uint64_t size) {
    void* want = reinterpret_cast<void*>(base);
    void* got = ::mmap(want, size, PROT_NONE, kReserveFlags | MAP_FIXED_NOREPLACE, -1, 0);
    if (got == MAP_FAILED) return false;
    if (got != want) {  // a kernel without MAP_FIXED_NOREPLACE treats it as a hint
        ::munmap(got, size);
        errno = EEXIST;
        return false;
    }
    base_ = base;
    size_ = size;
    return true;
}

bool Window::adopt(uint64_t base, uint64_t size) {
    std::lock_guard guard(mutex_);
    if (base == base_ && size == size_) return true;
    if (size_ != 0 && mapped_.empty()) {
        ::munmap(reinterpret_cast<void*>(base_), size_);
        size_ = 0;
    }
    if (size_ != 0) return false;  // views are mapped in the old window: cannot move it
    return reserve(base, size);
}

bool Window::map(uint64_t base, uint64_t length, int fd, bool writable, bool file_backed) {
    if (base < base_ || length > size_ || base - base_ > size_ - length) {
        errno = EINVAL;
        return false;
    }
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* want = reinterpret_cast<void*>(base);
    void* got = ::mmap(want, length, prot, MAP_SHARED | MAP_FIXED, fd, 0);
    if (got == MAP_FAILED) return false;
    mapped_[base] = Range{base, length, writable, file_backed};
    return true;
}

void Window::release(uint64_t base, uint64_t length) {
    ::mmap(reinterpret_cast<void*>(base), length, PROT_NONE, kReserveFlags | MAP_FIXED, -1, 0);
    mapped_.erase(base);
}

bool Window::mapped_here(uint64_t address, Range& range) const {
    auto it = mapped_.upper_bound(address);
    if (it == mapped_.begin()) return false;
    --it;
    if (address - it->first >= it->second.length) return false;
    range = it->second;
    return true;
}

void Window::reset_after_fork() {
    if (size_ != 0)
        ::mmap(reinterpret_cast<void*>(base_), size_, PROT_NONE, kReserveFlags | MAP_FIXED, -1, 0);
    mapped_.clear();
}

namespace {
// Reserve as early as possible, before the application's own allocations start.
__attribute__((constructor)) void reserve_window_at_load() { (void)Window::instance(); }
}  // namespace

}  // namespace cek::coredll
