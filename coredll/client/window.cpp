#include "coredll/client/window.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
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
        log().warn("cannot reserve the mapping window at {:#x}+{:#x} (errno {})", cfg.base,
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
    DeferredLock guard(mutex_);
    if (base == base_ && size == size_) return true;
    if (size_ != 0 && mapped_.empty()) {
        ::munmap(reinterpret_cast<void*>(base_), size_);
        size_ = 0;
        lingering_.clear();
        for (const auto& [object, fd] : kept_fds_) ::close(fd);
        kept_fds_.clear();
    }
    if (size_ != 0) return false;  // views are mapped in the old window: cannot move it
    return reserve(base, size);
}

bool Window::map(const Range& range, int fd) {
    if (revoked_) {
        errno = EPIPE;  // the kernel that described this range is gone
        return false;
    }
    if (range.base < base_ || range.length > size_ || range.base - base_ > size_ - range.length) {
        errno = EINVAL;
        return false;
    }
    reconcile();
    // A lingering range of this very mapping may go here; its descriptor is the one to map.
    drop_lingering_over(range.base, range.length, range.own ? range.object : 0);
    int prot = range.pages_own ? PROT_NONE : PROT_READ | (range.writable ? PROT_WRITE : 0);
    void* want = reinterpret_cast<void*>(range.base);
    void* got = ::mmap(want, range.length, prot, MAP_SHARED | MAP_FIXED, fd,
                       static_cast<off_t>(range.file_offset));
    if (got == MAP_FAILED) return false;
    mapped_[range.base] = range;
    ++generation_;
    return true;
}

bool Window::revive(const Range& range) {
    if (revoked_) return false;
    reconcile();
    for (size_t i = 0; i < lingering_.size(); ++i) {
        const Range& r = lingering_[i];
        if (r.base != range.base || r.length != range.length || r.dev != range.dev ||
            r.ino != range.ino || r.writable != range.writable ||
            r.file_backed != range.file_backed || r.own != range.own ||
            r.file_offset != range.file_offset || r.object != range.object ||
            r.pages_own != range.pages_own) {
            continue;
        }
        // Our PROT_NONE mapping holds the file, so no other file can have this (dev, ino) yet.
        // A pages_own range stays PROT_NONE until its views open their pages.
        if (range.pages_own) {
            mapped_[range.base] = range;
            lingering_.erase(lingering_.begin() + static_cast<std::ptrdiff_t>(i));
            ++generation_;
            return true;
        }
        int prot = PROT_READ | (range.writable ? PROT_WRITE : 0);
        if (::mprotect(reinterpret_cast<void*>(range.base), range.length, prot) != 0) {
            drop_lingering(i);
            return false;
        }
        mapped_[range.base] = range;
        lingering_.erase(lingering_.begin() + static_cast<std::ptrdiff_t>(i));
        ++generation_;
        return true;
    }
    return false;
}

void Window::release(uint64_t base, uint64_t length) {
    reconcile();
    auto it = mapped_.find(base);
    const bool lingers = it != mapped_.end() && it->second.length == length &&
                         length <= kLingerBytes &&
                         ::mprotect(reinterpret_cast<void*>(base), length, PROT_NONE) == 0;
    if (lingers) {
        if (lingering_.size() == kLingerRanges) drop_lingering(0);
        lingering_.push_back(it->second);
    } else {
        ::mmap(reinterpret_cast<void*>(base), length, PROT_NONE, kReserveFlags | MAP_FIXED, -1, 0);
    }
    page_views_.erase(base);
    uint64_t dropped_object = 0;  // an own range gone for good: its descriptor may go too
    if (it != mapped_.end()) {
        if (it->second.own && !lingers) dropped_object = it->second.object;
        mapped_.erase(it);
    }
    if (dropped_object != 0) forget_fd(dropped_object);
    ++generation_;
}

namespace {

uint64_t page_size() {
    static const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    return page;
}

// The whole pages [lo, hi) that bytes [address, address + length) touch.
std::pair<uint64_t, uint64_t> pages_of(uint64_t address, uint64_t length) {
    const uint64_t page = page_size();
    return {address & ~(page - 1), (address + length + page - 1) & ~(page - 1)};
}

}  // namespace

bool Window::add_view_pages(uint64_t address, uint64_t length, bool writes) {
    Range range;
    if (!mapped_here(address, range) || !range.pages_own || length == 0 ||
        length > range.base + range.length - address) {
        errno = EINVAL;
        return false;
    }
    auto& views = page_views_[range.base];
    views.push_back({address, length, writes});
    const auto [lo, hi] = pages_of(address, length);
    if (protect_view_pages(range.base, lo, hi)) return true;
    // The host refused (too many areas, vm.max_map_count): the view is not there.
    const int err = errno;
    views.pop_back();
    (void)protect_view_pages(range.base, lo, hi);
    errno = err;
    return false;
}

void Window::drop_view_pages(uint64_t address, uint64_t length, bool writes) {
    Range range;
    if (!mapped_here(address, range) || !range.pages_own) return;
    auto views = page_views_.find(range.base);
    if (views == page_views_.end()) return;
    auto& list = views->second;
    auto it = std::find_if(list.begin(), list.end(), [&](const PageView& v) {
        return v.address == address && v.length == length && v.writes == writes;
    });
    if (it == list.end()) return;
    list.erase(it);
    const auto [lo, hi] = pages_of(address, length);
    if (!protect_view_pages(range.base, lo, hi))
        log().error("view at {:#x} unmapped, but its pages keep their access: {}", address,
                     std::strerror(errno));
}

bool Window::protect_view_pages(uint64_t range_base, uint64_t lo, uint64_t hi) {
    const uint64_t page = page_size();
    const std::vector<PageView>& views = page_views_[range_base];
    // The common case: at most one view over these pages, and it covers them all.
    const PageView* only = nullptr;
    size_t over = 0;
    for (const PageView& v : views) {
        if (v.address >= hi || v.address + v.length <= lo) continue;
        only = &v;
        ++over;
    }
    if (over == 0 || (over == 1 && pages_of(only->address, only->length).first <= lo &&
                      pages_of(only->address, only->length).second >= hi)) {
        const int access = over == 0 ? PROT_NONE : PROT_READ | (only->writes ? PROT_WRITE : 0);
        ++generation_;
        return ::mprotect(reinterpret_cast<void*>(lo), hi - lo, access) == 0;
    }
    std::vector<uint8_t> prot((hi - lo) / page, PROT_NONE);
    for (const PageView& v : views) {
        const auto [first, end] = pages_of(v.address, v.length);
        const uint64_t from = std::max(first, lo);
        const uint64_t to = std::min(end, hi);
        const uint8_t access = PROT_READ | (v.writes ? PROT_WRITE : 0);
        for (uint64_t at = from; at < to; at += page) prot[(at - lo) / page] |= access;
    }
    bool ok = true;
    int err = 0;
    for (size_t i = 0; i < prot.size();) {  // one mprotect per run of equal access
        size_t j = i;
        while (j < prot.size() && prot[j] == prot[i]) ++j;
        if (::mprotect(reinterpret_cast<void*>(lo + i * page), (j - i) * page, prot[i]) != 0) {
            ok = false;
            err = errno;
        }
        i = j;
    }
    ++generation_;
    if (!ok) errno = err;
    return ok;
}

int Window::kept_fd(uint64_t object) const {
    auto it = kept_fds_.find(object);
    return it != kept_fds_.end() ? it->second : -1;
}

void Window::keep_fd(uint64_t object, int fd) {
    auto [it, added] = kept_fds_.emplace(object, fd);
    if (!added) {
        ::close(it->second);
        it->second = fd;
    }
}

void Window::forget_fd(uint64_t object) {
    auto it = kept_fds_.find(object);
    if (it == kept_fds_.end()) return;
    // A lingering range of the mapping may be revived without a descriptor; its write-back
    // needs this one.
    auto uses = [object](const Range& r) { return r.own && r.object == object; };
    if (std::any_of(lingering_.begin(), lingering_.end(), uses)) return;
    for (const auto& [base, range] : mapped_)
        if (uses(range)) return;
    ::close(it->second);
    kept_fds_.erase(it);
}

bool Window::claim(uint64_t base, uint64_t length) {
    DeferredLock guard(mutex_);
    if (base < base_ || length > size_ || base - base_ > size_ - length) return false;
    reconcile();
    drop_lingering_over(base, length);
    return true;
}

void Window::drop_lingering(size_t index, uint64_t keep_fd_of) {
    const Range r = lingering_[index];
    ::mmap(reinterpret_cast<void*>(r.base), r.length, PROT_NONE, kReserveFlags | MAP_FIXED, -1, 0);
    lingering_.erase(lingering_.begin() + static_cast<std::ptrdiff_t>(index));
    if (r.own && r.object != keep_fd_of) forget_fd(r.object);
}

void Window::drop_lingering_over(uint64_t base, uint64_t length, uint64_t keep_fd_of) {
    for (size_t i = lingering_.size(); i-- > 0;) {
        const Range& r = lingering_[i];
        if (r.base < base + length && base < r.base + r.length) drop_lingering(i, keep_fd_of);
    }
}

bool Window::mapped_here(uint64_t address, Range& range) {
    reconcile();
    auto it = mapped_.upper_bound(address);
    if (it == mapped_.begin()) return false;
    --it;
    if (address - it->first >= it->second.length) return false;
    range = it->second;
    return true;
}

void Window::shoot_down(proto::Shootdowns& ring) {
    // The ring is shared memory: a count that makes no sense is clamped, a range outside the
    // window skipped.
    uint32_t done = ring.done.load(std::memory_order_relaxed);
    for (;;) {
        const uint32_t posted = ring.posted.load(std::memory_order_acquire);
        if (posted - done > proto::kShootdownSlots) done = posted - proto::kShootdownSlots;
        if (done == posted) return;
        for (; done != posted; ++done) {
            const proto::ShootdownRange r = ring.ranges[done % proto::kShootdownSlots];
            if (r.length == 0 || r.base < base_ || r.length > size_ ||
                r.base - base_ > size_ - r.length)
                continue;
            ::mmap(reinterpret_cast<void*>(r.base), r.length, PROT_NONE,
                   kReserveFlags | MAP_FIXED, -1, 0);
            const uint64_t n = shot_count_.load(std::memory_order_relaxed);
            shot_bases_[n % kShotRecord].store(r.base, std::memory_order_relaxed);
            shot_count_.store(n + 1, std::memory_order_release);
        }
        ring.done.store(done, std::memory_order_release);
    }
}

bool Window::shot_since(uint64_t count, uint64_t base) const {
    const uint64_t n = shot_count_.load(std::memory_order_acquire);
    if (n - count > kShotRecord) return true;  // records lost: assume the worst
    for (uint64_t i = count; i < n; ++i)
        if (shot_bases_[i % kShotRecord].load(std::memory_order_relaxed) == base) return true;
    return shot_count_.load(std::memory_order_acquire) - count > kShotRecord;
}

void Window::reconcile() {
    const uint64_t n = shot_count_.load(std::memory_order_acquire);
    if (n == reconciled_) return;
    auto forget = [this](uint64_t base) {
        auto it = mapped_.find(base);
        if (it != mapped_.end() && it->second.touched) mapped_.erase(it);
        std::erase_if(lingering_, [base](const Range& r) { return r.base == base; });
    };
    bool lost = n - reconciled_ > kShotRecord;
    for (uint64_t i = reconciled_; !lost && i < n; ++i)
        forget(shot_bases_[i % kShotRecord].load(std::memory_order_relaxed));
    lost = lost || shot_count_.load(std::memory_order_acquire) - reconciled_ > kShotRecord;
    if (lost) {  // more than the record holds: forget every touched and lingering range
        std::erase_if(mapped_, [](const auto& entry) { return entry.second.touched; });
        while (!lingering_.empty()) drop_lingering(lingering_.size() - 1);
    }
    reconciled_ = n;
    ++generation_;
}

void Window::reset_after_fork() {
    if (size_ != 0)
        ::mmap(reinterpret_cast<void*>(base_), size_, PROT_NONE, kReserveFlags | MAP_FIXED, -1, 0);
    mapped_.clear();
    lingering_.clear();
    page_views_.clear();
    for (const auto& [object, fd] : kept_fds_) ::close(fd);
    kept_fds_.clear();
    revoked_ = false;
    reconciled_ = shot_count_.load(std::memory_order_relaxed);
}

void Window::revoke() {
    DeferredLock guard(mutex_);
    revoked_ = true;
    for (const auto& [base, range] : mapped_) {
        if (!range.writable) continue;
        if (!range.pages_own) {
            ::mprotect(reinterpret_cast<void*>(base), range.length, PROT_READ);
            continue;
        }
        for (PageView& v : page_views_[base]) v.writes = false;  // only the views' pages
        (void)protect_view_pages(base, base, base + range.length);
    }
}

namespace {
// Reserve as early as possible, before the application's own allocations start.
__attribute__((constructor)) void reserve_window_at_load() {
    (void)Window::instance();
    Window::install_fault_handler();
}
}  // namespace

}  // namespace cek::coredll
