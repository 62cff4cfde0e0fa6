// Small strong types shared by the kernel core.
#pragma once

#include <cstdint>
#include <functional>

namespace cek::kernel {

// A kernel-assigned process identity (not the Linux pid, which can be reused). 0 is the kernel
// itself: the owner of CreateFileForMapping handles, which CE 5 makes usable by every process.
struct ProcessId {
    uint32_t raw = 0;
    bool operator==(const ProcessId&) const = default;
    auto operator<=>(const ProcessId&) const = default;
};
inline constexpr ProcessId kKernelProcess{0};

// A CE 5 handle value, global to all processes.
struct HandleValue {
    uint32_t raw = 0;
    bool operator==(const HandleValue&) const = default;
};

}  // namespace cek::kernel

template <>
struct std::hash<cek::kernel::ProcessId> {
    size_t operator()(cek::kernel::ProcessId p) const noexcept { return p.raw; }
};
