// Small strong types shared by the kernel core.
#pragma once

#include <cstdint>
#include <functional>

namespace cek::kernel {

// A kernel-assigned process identity (not the Linux pid, which can be reused). 0 is the kernel
// itself: the owner of CreateFileForMapping handles, which CE 5 makes usable by every process,
// and of the entries that keep thread and process ids valid.
struct ProcessId {
    uint32_t raw = 0;
    bool operator==(const ProcessId&) const = default;
    auto operator<=>(const ProcessId&) const = default;
};
inline constexpr ProcessId kKernelProcess{0};

// A handle value: CE 5, global to all processes; CE 6, a value in one process's table.
struct HandleValue {
    uint32_t raw = 0;
    bool operator==(const HandleValue&) const = default;
};

}  // namespace cek::kernel

template <>
struct std::hash<cek::kernel::ProcessId> {
    size_t operator()(cek::kernel::ProcessId p) const noexcept { return p.raw; }
};
