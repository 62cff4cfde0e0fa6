// The client's half of the shared mapping window: the reservation made at start-up and the
// mappings this process has mapped into it.
//
// The range is reserved PROT_NONE at load time (a constructor), so nothing else can land there.
// The first view of a mapping maps the mapping's whole range (MAP_SHARED|MAP_FIXED over the
// reservation); when the kernel reports this process's last view of it gone, the range goes
// back to PROT_NONE in one call, never munmap, so no hole ever opens. The kernel decides
// addresses; map and unmap are serialised per process (lock()) so that an address the kernel
// reuses is never remapped here while an older mapping of it is being torn down.
//
// A small range released here lingers: its pages stay mapped PROT_NONE (as inaccessible as the
// reservation) for a few more mappings, so that mapping it again (the next first view of a
// mapping that is mapped and unmapped in turn) is one mprotect instead of taking the descriptor
// from the kernel, checking it and mmapping it. At most kLingerRanges ranges of at most
// kLingerBytes linger; the oldest goes back to the reservation first.
//
// CE 6 gives each file view a range of its own (kViewOwnRange): the range maps part of the file
// (from file_offset), lingers like a mapping's range, and is revived only for a view of the same
// pages; the mapping's descriptor is kept here (keep_fd) from the first such view the kernel
// sends it with until the kernel says the process has no view of the mapping left.
//
// CE 6 opens only a RAM-backed view's own pages (pages_own): the mapping's range is mapped
// PROT_NONE and each view's pages get access, read-write where any of this process's views over
// the page writes (CE 6 merges the views at one offset), read-only where only read views lie.
//
// CE 5 lets any process touch any live mapping by address, without a view (window_fault.cpp):
// a fault in the window that no mapping of ours covers asks the kernel, which names the mapping
// there, and its range is mapped here as a first view's would be (Range::touched).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "protocol/channel.h"

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
        uint64_t dev = 0;  // the mapped file's identity
        uint64_t ino = 0;
        bool touched = false;  // mapped by the fault handler (CE 5's global view), not by a view
        bool own = false;      // a CE 6 file view's own range: the file from file_offset
        uint64_t file_offset = 0;
        uint64_t object = 0;   // own ranges: the mapping (kept_fd)
        bool pages_own = false;  // CE 6 RAM-backed: PROT_NONE but for its views' pages
    };
    static constexpr size_t kLingerRanges = 4;
    static constexpr uint64_t kLingerBytes = 1 << 20;

    // Maps the mapping again from a lingering range when this process released exactly that
    // range of that file (dev, ino) with the same access: true when done, false when the
    // descriptor must be taken and map() called.
    bool revive(const Range& range);
    // The ranges revive() could map again, for the kernel (MapViewRequest), oldest first.
    const std::vector<Range>& lingering() {
        reconcile();
        return lingering_;
    }
    // Maps `fd` (whose identity is range.dev, range.ino) over the mapping's range. False
    // (errno set) if the host refuses.
    bool map(const Range& range, int fd);
    void release(uint64_t base, uint64_t length);
    // CE 6's RAM-backed views in a pages_own range mapped here: the view of `length` bytes at
    // `address` opens its pages; when it goes they get what the process's other views there
    // give them. False (errno set) when the address is in no such range or the host refuses.
    bool add_view_pages(uint64_t address, uint64_t length, bool writes);
    void drop_view_pages(uint64_t address, uint64_t length, bool writes);

    // CE 6: the descriptor of mapping `object` kept for its views' own ranges (-1: none kept).
    // keep_fd takes ownership; forget_fd closes it unless a range of the mapping is still
    // mapped or lingering (a revived range is written back through it).
    int kept_fd(uint64_t object) const;
    void keep_fd(uint64_t object, int fd);
    void forget_fd(uint64_t object);
    // Whether `address` lies in a mapping this process has mapped; its range if so.
    bool mapped_here(uint64_t address, Range& range);

    // Whether `address` lies in the window.
    bool contains(uint64_t address) const { return address - base_ < size_; }
    // A range the kernel handed out for something other than a mapping (a huge reservation,
    // coredll/api/vmem.cpp), which the caller is about to map pages into: true when it lies in
    // the window, after any lingering range over it went back to the reservation (a lingering
    // range must never be revived over pages that are no longer its file's).
    bool claim(uint64_t base, uint64_t length);

    // Moves with every map, revive, release and shootdown: the fault handler tells a fault it
    // has already served (a real protection fault) from one another thread's mapping just served.
    uint64_t generation() const {
        return generation_ + shot_count_.load(std::memory_order_acquire);
    }

    // After fork(): the child starts with an empty window (CE: a new process has no views).
    void reset_after_fork();
    // The kernel died: every view becomes read-only (its data stays readable; a write faults,
    // as a write to an unmapped view does in CE) and nothing is mapped from now on.
    void revoke();

    std::mutex& lock() { return mutex_; }

    // Maps the mapping at `address` as a touch would, for host calls that cannot fault it in
    // themselves (read() into an untouched mapping fails with EFAULT): true when it was not
    // mapped here and now is.
    bool touch(uint64_t address);
    // Installs the SIGSEGV handler that serves touches of the window, and the handler of the
    // kernel's shootdown signal (window_fault.cpp).
    static void install_fault_handler();
    // The connection's Shootdowns ring and doorbell (null, -1 when not connected).
    static void publish_shootdowns(proto::Shootdowns* ring, int doorbell);

    // Shootdowns (protocol/channel.h): a dead mapping this process touched goes back to the
    // reservation. shoot_down runs in the signal handler, without the lock: it only mmaps the
    // ranges PROT_NONE and records their bases, which the next locked call forgets (reconcile).
    void shoot_down(proto::Shootdowns& ring);
    uint64_t shots() const { return shot_count_.load(std::memory_order_acquire); }
    // Whether a shootdown of `base` was recorded since shots() was `count`.
    bool shot_since(uint64_t count, uint64_t base) const;

private:
    Window();
    bool reserve(uint64_t base, uint64_t size);
    // Back to the reservation; an own range's kept descriptor goes too when nothing else uses it,
    // unless it is mapping `keep_fd_of`'s (about to be mapped again).
    void drop_lingering(size_t index, uint64_t keep_fd_of = 0);
    void drop_lingering_over(uint64_t base, uint64_t length, uint64_t keep_fd_of = 0);
    // Forgets the touched ranges and lingering ranges shot down since the last call. Lock held.
    void reconcile();
    // Gives each page of [lo, hi) (page-aligned, inside the pages_own range at `range_base`)
    // the access of the views over it.
    bool protect_view_pages(uint64_t range_base, uint64_t lo, uint64_t hi);

    struct PageView {
        uint64_t address;
        uint64_t length;
        bool writes;
    };
    uint64_t base_ = 0;
    uint64_t size_ = 0;
    std::map<uint64_t, Range> mapped_;  // by base
    std::vector<Range> lingering_;      // oldest first
    std::map<uint64_t, int> kept_fds_;  // CE 6: mapping object id -> descriptor
    std::map<uint64_t, std::vector<PageView>> page_views_;  // pages_own range base -> views
    bool revoked_ = false;
    uint64_t generation_ = 0;
    static constexpr size_t kShotRecord = 64;
    std::atomic<uint64_t> shot_count_{0};
    std::atomic<uint64_t> shot_bases_[kShotRecord]{};
    uint64_t reconciled_ = 0;
    std::mutex mutex_;
};

}  // namespace cek::coredll
