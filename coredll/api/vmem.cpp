// VirtualAlloc, VirtualFree, VirtualProtect, VirtualQuery: CE 5's virtual memory, in the process.
// Rules: docs/semantics/vmem.md (ce-kernel-objects.md §4); the layout and its reasons:
// docs/decisions/0006-virtual-memory.md.
//
// The slot. CE 5 gives each process a 32 MB slot for everything it allocates. Linux keeps the
// addresses below 0x02000000 for itself, so the slot is a 32 MiB range reserved PROT_NONE at
// load time (a constructor, like the mapping window), aligned to 32 MiB, wherever the host puts
// it. It is cut into 512 blocks of 64 KiB; block 0 is never handed out (CE searches from the
// second block), so a slot holds 511 blocks of reservations and the 512th makes
// ERROR_NOT_ENOUGH_MEMORY. A page that is not committed is always PROT_NONE and unpopulated
// (never touched, or dropped with MADV_DONTNEED when decommitted), so committing is only an
// mprotect and the page reads as zero; decommitting and releasing drop the pages and protect
// them PROT_NONE again (never munmap: no hole opens). Protections are the host MMU's: PAGE_NOACCESS and PAGE_GUARD pages are PROT_NONE, so a
// touch faults the process (there is no SEH to deliver CE's guard-page exception to).
//
// Huge reservations (NULL address, exactly MEM_RESERVE and PAGE_NOACCESS, at least 2 MiB) are
// ranges of the shared mapping window handed out by the kernel, which releases them when the
// process dies; commits inside them happen here like commits in the slot.
//
// One lock guards the tables; a call on the kernel (huge reservations) and the window's own lock
// are never taken while it is held. After fork() the child keeps its slot (its memory is a copy)
// and loses its huge reservations with the rest of the window.
//
// CE 6 (`cekernel --personality ce6`) gives a process about 1 GiB for its allocations
// (0x00010000-0x3FFFFFFF) and none of CE 5's special cases. The reservation made at load is that
// large (address space only: PROT_NONE, no memory is charged), the 32 MiB slot is its first part,
// so CE 5 hands out the first 512 blocks and CE 6 all 16384. The rules follow the kernel the
// process talks to; before its first kernel call (VirtualAlloc does not connect) they are CE 5's.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bitset>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "coredll/api/api.h"
#include "coredll/client/log.h"
#include "coredll/client/thread_park.h"
#include "coredll/client/window.h"
#include "protocol/window.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBlock = 64 << 10;
constexpr uint64_t kSlotSize = 32 << 20;
constexpr uint64_t kSpaceSize = uint64_t{1} << 30;  // CE 6: 0x00010000-0x3FFFFFFF, about 1 GiB
constexpr size_t kSpaceBlocks = kSpaceSize / kBlock;
// Above the canonical user half of the x86-64 and AArch64 address spaces: CE's "kernel address".
constexpr uint64_t kKernelAddress = uint64_t{1} << 47;

uint64_t round_down(uint64_t v, uint64_t unit) { return v & ~(unit - 1); }
uint64_t round_up(uint64_t v, uint64_t unit) { return (v + unit - 1) & ~(unit - 1); }

// The kernel's personality as far as this process knows it: a connected kernel's, CE 5 before
// the first kernel call.
bool ce6_space() {
    Connection& c = Connection::instance();
    return c.connected() && c.hello().personality >= 6;
}

// ce-kernel-objects.md §4.6: 0 when `protect` is valid, else the error VirtualProtect reports
// (CE 5 reports WRITECOPY as not supported, CE 6 as invalid).
DWORD check_protect(DWORD protect, bool ce6) {
    const DWORD modifiers = protect & (PAGE_GUARD | PAGE_NOCACHE);
    const DWORD base = protect & ~modifiers;
    if (base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY)
        return ce6 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
    switch (base) {
    case PAGE_NOACCESS:
        return modifiers == 0 ? 0 : ERROR_INVALID_PARAMETER;
    case PAGE_READONLY:
    case PAGE_READWRITE:
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
    case PAGE_EXECUTE_READWRITE:
        return 0;
    default:
        return ERROR_INVALID_PARAMETER;
    }
}

int host_protection(DWORD protect) {
    if ((protect & PAGE_GUARD) != 0) return PROT_NONE;
    switch (protect & 0xFF) {
    case PAGE_READONLY:
        return PROT_READ;
    case PAGE_READWRITE:
        return PROT_READ | PROT_WRITE;
    case PAGE_EXECUTE:
    case PAGE_EXECUTE_READ:
        return PROT_READ | PROT_EXEC;
    case PAGE_EXECUTE_READWRITE:
        return PROT_READ | PROT_WRITE | PROT_EXEC;
    default:
        return PROT_NONE;
    }
}

bool protect_pages(uint64_t start, uint64_t length, int prot) {
    return ::mprotect(reinterpret_cast<void*>(start), length, prot) == 0;
}

// Back to the reservation: the pages' contents go (a new commit reads zero), access goes.
void drop_pages(uint64_t start, uint64_t length) {
    ::madvise(reinterpret_cast<void*>(start), length, MADV_DONTNEED);
    protect_pages(start, length, PROT_NONE);
}

// One reservation: its pages' protections, 0 for a page that is reserved only.
struct Reservation {
    uint64_t base;
    uint64_t length;
    bool huge;
    std::vector<uint16_t> pages;

    uint64_t end() const { return base + length; }
    size_t index(uint64_t address) const { return (address - base) / kPage; }
};

class AddressSpace {
public:
    static AddressSpace& instance() {
        // Never destroyed: memory may be freed from static destructors.
        static AddressSpace* space = new AddressSpace();
        return *space;
    }

    std::mutex& lock() { return mutex_; }
    // The part of the reservation the personality hands out: CE 5's slot, or CE 6's space.
    uint64_t size(bool ce6) const { return ce6 ? space_size_ : kSlotSize; }
    bool in_space(uint64_t a, bool ce6) const { return slot_ != 0 && a - slot_ < size(ce6); }

    Reservation* find(uint64_t a) {
        auto it = reservations_.upper_bound(a);
        if (it == reservations_.begin()) return nullptr;
        --it;
        return a < it->second.end() ? &it->second : nullptr;
    }
    // The first reservation starting above `a`, or nullptr.
    const Reservation* next_after(uint64_t a) const {
        auto it = reservations_.upper_bound(a);
        return it == reservations_.end() ? nullptr : &it->second;
    }

    // A free run of `blocks` blocks in the space (from block 1, bottom-up or top-down).
    std::optional<uint64_t> find_room(size_t blocks, bool top_down, bool ce6) const {
        const size_t total = size(ce6) / kBlock;
        if (slot_ == 0 || blocks == 0 || blocks >= total) return std::nullopt;
        const size_t last_start = total - blocks;
        for (size_t n = 0; n < last_start; ++n) {
            const size_t start = top_down ? last_start - n : n + 1;
            size_t i = 0;
            while (i < blocks && !used_[start + i]) ++i;
            if (i == blocks) return slot_ + start * kBlock;
        }
        return std::nullopt;
    }
    // Whether [base, end) is inside the space, past block 0, and no block of it is reserved.
    bool range_free(uint64_t base, uint64_t end, bool ce6) const {
        if (!in_space(base, ce6) || end > slot_ + size(ce6) || base < slot_ + kBlock) return false;
        for (uint64_t b = base; b < end; b += kBlock)
            if (used_[(b - slot_) / kBlock]) return false;
        return true;
    }

    Reservation& add(uint64_t base, uint64_t length, bool huge) {
        if (!huge) mark(base, length, true);
        Reservation r{base, length, huge, std::vector<uint16_t>(length / kPage, 0)};
        return reservations_.insert_or_assign(base, std::move(r)).first->second;
    }
    void remove(const Reservation& r) {
        if (!r.huge) mark(r.base, r.length, false);
        reservations_.erase(r.base);
    }

    uint64_t slot() const { return slot_; }

    void forget_huge() {  // fork(): the child's window is empty
        std::erase_if(reservations_, [](const auto& entry) { return entry.second.huge; });
    }

private:
    AddressSpace() {
        // The space and a slot more, then trimmed to start on a 32 MiB boundary (outside it
        // munmap is safe). Under a tight address-space limit (RLIMIT_AS) only CE 5's slot: CE 6
        // then has 32 MiB too.
        space_size_ = kSpaceSize;
        uint64_t asked = space_size_ + kSlotSize;
        void* got = ::mmap(nullptr, asked, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
        if (got == MAP_FAILED) {
            space_size_ = kSlotSize;
            asked = space_size_ + kSlotSize;
            got = ::mmap(nullptr, asked, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                         -1, 0);
            log().warn("cannot reserve 1 GiB of address space: VirtualAlloc has 32 MiB");
        }
        if (got == MAP_FAILED) {
            log().warn("cannot reserve the address space: VirtualAlloc will fail");
            return;
        }
        const auto start = reinterpret_cast<uint64_t>(got);
        slot_ = round_up(start, kSlotSize);
        if (slot_ > start) ::munmap(got, slot_ - start);
        const uint64_t end = slot_ + space_size_;
        if (start + asked > end) ::munmap(reinterpret_cast<void*>(end), start + asked - end);
        ::pthread_atfork([] { instance().mutex_.lock(); }, [] { instance().mutex_.unlock(); },
                         [] {
                             instance().forget_huge();
                             instance().mutex_.unlock();
                         });
    }
    void mark(uint64_t base, uint64_t length, bool used) {
        for (uint64_t b = base; b < base + length; b += kBlock) used_[(b - slot_) / kBlock] = used;
    }

    std::mutex mutex_;
    uint64_t slot_ = 0;
    uint64_t space_size_ = kSlotSize;  // reserved from slot_: kSpaceSize, or kSlotSize at a limit
    std::bitset<kSpaceBlocks> used_;
    std::map<uint64_t, Reservation> reservations_;  // slot and huge, by base
};

// Commits [start, end) of `r` with `protect`: pages not committed are unpopulated, so they read
// as zero; committed ones keep their contents and change protection (§4.2 step 5). False, with
// nothing newly committed, when the host refuses.
bool commit(Reservation& r, uint64_t start, uint64_t end, DWORD protect) {
    const int prot = host_protection(protect);
    std::vector<std::pair<uint64_t, uint64_t>> fresh;
    for (uint64_t a = start; a < end;) {
        const bool committed = r.pages[r.index(a)] != 0;
        uint64_t b = a + kPage;
        while (b < end && (r.pages[r.index(b)] != 0) == committed) b += kPage;
        if (!protect_pages(a, b - a, prot)) {
            for (const auto& [from, to] : fresh) drop_pages(from, to - from);
            for (const auto& [from, to] : fresh)
                std::fill(r.pages.begin() + r.index(from), r.pages.begin() + r.index(to), 0);
            return false;
        }
        if (!committed) fresh.emplace_back(a, b);
        std::fill(r.pages.begin() + r.index(a), r.pages.begin() + r.index(b),
                  static_cast<uint16_t>(protect));
        a = b;
    }
    return true;
}

void decommit(Reservation& r, uint64_t start, uint64_t end) {
    drop_pages(start, end - start);
    std::fill(r.pages.begin() + r.index(start), r.pages.begin() + r.index(end), 0);
}

bool any_committed(const Reservation& r) {
    for (uint16_t p : r.pages)
        if (p != 0) return true;
    return false;
}

// The huge path of §4.1: a range of the window from the kernel, outside the lock.
LPVOID reserve_huge(uint64_t size) {
    Connection& kernel = Connection::instance();
    proto::VmReserveRequest req{size};
    proto::VmReserveReply rep{};
    if (!kernel.ensure_connected() || !finish(kernel.call(req, rep))) {
        set_last_error(ERROR_OUTOFMEMORY);
        return nullptr;
    }
    if (!Window::instance().claim(rep.address, rep.length)) {
        log().error("huge reservation {:#x}+{:#x} is outside the window", rep.address, rep.length);
        proto::VmReleaseRequest undo{rep.address};
        proto::VmReleaseReply undone{};
        (void)kernel.call(undo, undone);
        set_last_error(ERROR_OUTOFMEMORY);
        return nullptr;
    }
    AddressSpace& space = AddressSpace::instance();
    DeferredLock guard(space.lock());
    space.add(rep.address, rep.length, true);
    return reinterpret_cast<LPVOID>(static_cast<uintptr_t>(rep.address));
}

void release_huge(uint64_t base) {
    proto::VmReleaseRequest req{base};
    proto::VmReleaseReply rep{};
    if (!Connection::instance().call(req, rep).delivered)
        log().debug("huge reservation {:#x}: the kernel did not hear of its release", base);
}

LPVOID fail(DWORD error) {
    set_last_error(error);
    return nullptr;
}

// The host's own mapping of `a` (/proc/self/maps): heaps, stacks, the image. False when `a` is
// mapped by nothing.
bool query_host(uint64_t a, MEMORY_BASIC_INFORMATION& info) {
    FILE* maps = std::fopen("/proc/self/maps", "re");
    if (maps == nullptr) return false;
    char line[512];
    bool found = false;
    while (!found && std::fgets(line, sizeof line, maps) != nullptr) {
        unsigned long long start = 0, end = 0;
        char perms[5] = {};
        int path_at = 0;
        if (std::sscanf(line, "%llx-%llx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3)
            continue;
        if (a < start || a >= end) continue;
        found = true;
        const bool r = perms[0] == 'r', w = perms[1] == 'w', x = perms[2] == 'x';
        const uint64_t page = round_down(a, kPage);
        info.BaseAddress = reinterpret_cast<PVOID>(page);
        info.AllocationBase = reinterpret_cast<PVOID>(start);
        info.AllocationProtect = PAGE_NOACCESS;
        info.RegionSize = end - page;
        info.Type = line[path_at] == '/' ? MEM_IMAGE : MEM_PRIVATE;
        if (!r && !w && !x) {
            info.State = MEM_RESERVE;
            info.Protect = 0;
        } else {
            info.State = MEM_COMMIT;
            info.Protect = x ? (w ? PAGE_EXECUTE_READWRITE : PAGE_EXECUTE_READ)
                             : (w ? PAGE_READWRITE : PAGE_READONLY);
        }
    }
    std::fclose(maps);
    return found;
}

// Reserves the slot as early as possible, before the application's own allocations start.
__attribute__((constructor)) void reserve_slot_at_load() { (void)AddressSpace::instance(); }

}  // namespace

extern "C" {

LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                           DWORD flProtect) {
    const auto a = reinterpret_cast<uint64_t>(lpAddress);
    const bool ce6 = ce6_space();
    if (ce6) {
        // CE 6 (§4.2): the type a non-empty subset of the user's five flags (MEM_MAPPED is not
        // one), a size that is positive as CE's signed 32-bit number, a valid protection
        // (WRITECOPY is not). No huge path and no 32 MB limit.
        constexpr DWORD kTypes =
            MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN | MEM_IMAGE | MEM_AUTO_COMMIT;
        if (flAllocationType == 0 || (flAllocationType & ~kTypes) != 0 || dwSize == 0 ||
            dwSize > 0x7FFFFFFF || a >= kKernelAddress || check_protect(flProtect, true) != 0)
            return fail(ERROR_INVALID_PARAMETER);
    } else {
        // §4.2 step 1: kernel address, size 0, size >= 32 MB outside the huge path.
        const bool huge_shape =
            a == 0 && flAllocationType == MEM_RESERVE && flProtect == PAGE_NOACCESS;
        if (a >= kKernelAddress || dwSize == 0 || (dwSize >= kSlotSize && !huge_shape))
            return fail(ERROR_INVALID_PARAMETER);
        // Step 2: the protection; VirtualAlloc reports WRITECOPY as invalid too.
        if (check_protect(flProtect, false) != 0) return fail(ERROR_INVALID_PARAMETER);
        if (huge_shape && dwSize >= proto::kHugeReservationMinimum) return reserve_huge(dwSize);
    }
    // CE 6 commits MEM_AUTO_COMMIT pages at once: the host fills untouched pages on first use.
    const bool commit_too = (flAllocationType & MEM_COMMIT) != 0 ||
                            (ce6 && (flAllocationType & MEM_AUTO_COMMIT) != 0);
    const DWORD reserve_types = ce6 ? MEM_RESERVE | MEM_AUTO_COMMIT | MEM_IMAGE : MEM_RESERVE;
    const bool reserve = (flAllocationType & reserve_types) != 0 || (commit_too && a == 0);

    AddressSpace& space = AddressSpace::instance();
    DeferredLock guard(space.lock());
    // Step 3: an address in no section of ours (neither the slot nor a huge reservation).
    Reservation* existing = a != 0 ? space.find(a) : nullptr;
    if (a != 0 && !space.in_space(a, ce6) && existing == nullptr)
        return fail(ERROR_INVALID_PARAMETER);
    if (reserve) {
        // Step 4: the reserve path.
        if ((flAllocationType & (MEM_MAPPED | MEM_IMAGE)) == (MEM_MAPPED | MEM_IMAGE))
            return fail(ERROR_INVALID_PARAMETER);
        uint64_t base = 0;
        uint64_t length = 0;
        if (a == 0) {
            // CE 6 accepts MEM_TOP_DOWN and ignores it.
            const bool top_down = !ce6 && (flAllocationType & MEM_TOP_DOWN) != 0;
            length = round_up(dwSize, kBlock);
            auto room = space.find_room(length / kBlock, top_down, ce6);
            if (!room) return fail(ERROR_NOT_ENOUGH_MEMORY);
            base = *room;
        } else {
            base = round_down(a, kBlock);
            if (a + dwSize < a) return fail(ERROR_INVALID_PARAMETER);
            length = round_up(a + dwSize, kBlock) - base;
            if (!space.range_free(base, base + length, ce6)) return fail(ERROR_INVALID_PARAMETER);
        }
        Reservation& r = space.add(base, length, false);
        if (commit_too) {
            // Step 6: committed pages; a failure undoes the fresh reservation.
            const uint64_t start = a == 0 ? base : round_down(a, kPage);
            const uint64_t end = a == 0 ? base + round_up(dwSize, kPage) : round_up(a + dwSize, kPage);
            if (!commit(r, start, end, flProtect)) {
                space.remove(r);
                return fail(ERROR_NOT_ENOUGH_MEMORY);
            }
        }
        if (ce6) set_last_error(ERROR_SUCCESS);  // CE 6 sets it on success too
        return reinterpret_cast<LPVOID>(base);
    }
    // Step 5: the commit-only path, inside one existing reservation.
    if (!commit_too || existing == nullptr) return fail(ERROR_INVALID_PARAMETER);
    const uint64_t start = round_down(a, kPage);
    if (dwSize > existing->end() - a) return fail(ERROR_INVALID_PARAMETER);
    const uint64_t end = round_up(a + dwSize, kPage);
    if (!commit(*existing, start, end, flProtect)) return fail(ERROR_NOT_ENOUGH_MEMORY);
    if (ce6) set_last_error(ERROR_SUCCESS);
    return reinterpret_cast<LPVOID>(start);
}

BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType) {
    const auto a = reinterpret_cast<uint64_t>(lpAddress);
    const bool ce6 = ce6_space();
    // §4.3: NULL and kernel addresses, then the free type.
    if (a == 0 || a >= kKernelAddress || (dwFreeType != MEM_DECOMMIT && dwFreeType != MEM_RELEASE)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    AddressSpace& space = AddressSpace::instance();
    ParkDeferral defer;  // first in, last out, as DeferredLock's
    std::unique_lock guard(space.lock());
    Reservation* r = space.find(a);
    if (r == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (dwFreeType == MEM_DECOMMIT) {
        // Size 0 is refused; the page range must stay inside the reservation.
        if (dwSize == 0 || dwSize > r->end() - a) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
        decommit(*r, round_down(a, kPage), round_up(a + dwSize, kPage));
        return TRUE;
    }
    // MEM_RELEASE: size 0 at the base; in CE 5's slot every page in one state (CE 6 drops the
    // commits whatever their state).
    if (dwSize != 0 || a != r->base) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (!r->huge && !ce6) {
        const bool committed = r->pages.front() != 0;
        for (uint16_t p : r->pages) {
            if ((p != 0) != committed) {
                set_last_error(ERROR_INVALID_PARAMETER);
                return FALSE;
            }
        }
    }
    const bool huge = r->huge;
    if (any_committed(*r)) drop_pages(r->base, r->length);
    space.remove(*r);
    guard.unlock();
    defer.pause();
    if (huge) release_huge(a);
    return TRUE;
}

BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                           PDWORD lpflOldProtect) {
    const auto a = reinterpret_cast<uint64_t>(lpAddress);
    // §4.4: the protection first (CE 5's WRITECOPY keeps ERROR_NOT_SUPPORTED), then size 0 or
    // (CE 5) no place for the old protection, then the range: committed, inside one reservation.
    const bool ce6 = ce6_space();
    if (DWORD e = check_protect(flNewProtect, ce6); e != 0) {
        set_last_error(e);
        return FALSE;
    }
    if (dwSize == 0 || (lpflOldProtect == nullptr && !ce6) || a == 0 || a >= kKernelAddress) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    AddressSpace& space = AddressSpace::instance();
    DeferredLock guard(space.lock());
    Reservation* r = space.find(a);
    if (r == nullptr || dwSize > r->end() - a) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    const uint64_t start = round_down(a, kPage);
    const uint64_t end = round_up(a + dwSize, kPage);
    for (uint64_t p = start; p < end; p += kPage) {
        if (r->pages[r->index(p)] == 0) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return FALSE;
        }
    }
    if (::mprotect(reinterpret_cast<void*>(start), end - start, host_protection(flNewProtect)) != 0) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (lpflOldProtect != nullptr) *lpflOldProtect = r->pages[r->index(start)];  // the first page's
    std::fill(r->pages.begin() + r->index(start), r->pages.begin() + r->index(end),
              static_cast<uint16_t>(flNewProtect));
    return TRUE;
}

SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength) {
    const auto a = reinterpret_cast<uint64_t>(lpAddress);
    // §4.5: the buffer's length (the host's sizeof, CE's 28 on its 32-bit CPUs), then NULL (CE 6:
    // anything below 0x10000) and kernel addresses.
    const bool ce6 = ce6_space();
    if (dwLength < sizeof(MEMORY_BASIC_INFORMATION)) {
        set_last_error(ERROR_BAD_LENGTH);
        return 0;
    }
    if (a < (ce6 ? 0x10000 : 1) || a >= kKernelAddress || lpBuffer == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    MEMORY_BASIC_INFORMATION info{};
    const uint64_t page = round_down(a, kPage);
    info.BaseAddress = reinterpret_cast<PVOID>(page);
    info.AllocationProtect = PAGE_NOACCESS;  // CE does not remember it
    AddressSpace& space = AddressSpace::instance();
    {
        DeferredLock guard(space.lock());
        if (const Reservation* r = space.find(a)) {
            // A run of pages with the same state and protection, inside the reservation.
            const uint16_t value = r->pages[r->index(page)];
            size_t i = r->index(page);
            while (i < r->pages.size() && r->pages[i] == value) ++i;
            info.AllocationBase = reinterpret_cast<PVOID>(r->base);
            info.RegionSize = r->base + i * kPage - page;
            info.State = value != 0 ? MEM_COMMIT : MEM_RESERVE;
            info.Protect = value;
            info.Type = MEM_PRIVATE;
            *lpBuffer = info;
            return sizeof info;
        }
        if (space.in_space(a, ce6)) {
            // Free: up to the next reservation or the end of the slot (CE 6: of the space);
            // CE 6 calls a free region's type MEM_PRIVATE, CE 5 leaves it 0.
            const Reservation* next = space.next_after(a);
            uint64_t end = space.slot() + space.size(ce6);
            if (next != nullptr && next->base < end) end = next->base;
            info.RegionSize = end - page;
            info.State = MEM_FREE;
            if (ce6) info.Type = MEM_PRIVATE;
            *lpBuffer = info;
            return sizeof info;
        }
        if (space.in_space(a, true)) {
            set_last_error(ERROR_INVALID_PARAMETER);  // CE 5: past the slot, an unused section
            return 0;
        }
    }
    Window& window = Window::instance();
    if (window.contains(a)) {
        DeferredLock guard(window.lock());
        Window::Range range;
        if (window.mapped_here(a, range)) {
            info.AllocationBase = reinterpret_cast<PVOID>(range.base);
            info.RegionSize = range.base + range.length - page;
            info.State = MEM_COMMIT;
            info.Protect = range.writable ? PAGE_READWRITE : PAGE_READONLY;
            info.Type = MEM_MAPPED;
        } else {
            // Nothing of this process: free up to the next 64 KiB unit the kernel hands out.
            info.RegionSize = round_up(page + 1, proto::kWindowGranularity) - page;
            info.State = MEM_FREE;
            if (ce6) info.Type = MEM_PRIVATE;
        }
        *lpBuffer = info;
        return sizeof info;
    }
    if (!query_host(a, info)) {
        set_last_error(ERROR_INVALID_PARAMETER);  // an unused section
        return 0;
    }
    *lpBuffer = info;
    return sizeof info;
}

}  // extern "C"
