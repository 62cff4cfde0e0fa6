// CE 5 huge reservations: VirtualAlloc(NULL, >= 2 MiB, MEM_RESERVE, PAGE_NOACCESS) is placed in
// the shared mapper region, outside the process's slot, so the kernel hands out a range of the
// same window mappings use (their addresses never collide) and remembers who holds it. Commits
// inside it happen in the process. Rules: docs/semantics/vmem.md, ce-kernel-objects.md §4.1.
#include "kernel/kernel_impl.h"
#include "kernel/log.h"
#include "protocol/window.h"

namespace cek::kernel {

Result<Kernel::HugeReservation> Kernel::reserve_huge(ProcessId caller, uint64_t length) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    if (length < proto::kHugeReservationMinimum || length > proto::kHugeReservationMaximum)
        return Win32Error::ERROR_OUTOFMEMORY;
    // No owner object: the process's own list says whose it is, and flush_view finds no
    // mapping there.
    auto address = window_.allocate(length, nullptr);
    if (!address) {
        log::vmem()->debug("huge reservation pid={} len={:#x} -> ERROR_OUTOFMEMORY(14)", p->pid,
                           length);
        return Win32Error::ERROR_OUTOFMEMORY;
    }
    const uint64_t rounded = AddressWindow::rounded_length(length);
    p->huge.emplace(*address, rounded);
    log::vmem()->debug("huge reservation pid={} addr={:#x} len={:#x}", p->pid, *address, rounded);
    return HugeReservation{*address, rounded};
}

Result<void> Kernel::release_huge(ProcessId caller, uint64_t address) {
    Process* p = process(caller);
    if (p == nullptr) return Win32Error::ERROR_INVALID_PARAMETER;
    auto it = p->huge.find(address);
    if (it == p->huge.end()) return Win32Error::ERROR_INVALID_PARAMETER;
    window_.free(address);
    p->huge.erase(it);
    log::vmem()->debug("huge reservation released pid={} addr={:#x}", p->pid, address);
    return {};
}

std::map<uint64_t, uint64_t> Kernel::huge_reservations(ProcessId id) const {
    auto it = processes_.find(id);
    return it == processes_.end() ? std::map<uint64_t, uint64_t>{} : it->second.huge;
}

void Kernel::release_huge_of(Process& p) {
    for (const auto& [address, length] : p.huge) {
        window_.free(address);
        log::vmem()->debug("huge reservation of dead pid={} released addr={:#x} len={:#x}",
                           p.pid, address, length);
    }
    p.huge.clear();
}

}  // namespace cek::kernel
