// Shared helpers of the kernel unit tests: a kernel with fake processes, Catch2 printers for the
// kernel's strong types, and the CE constants the tests spell out.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <ostream>
#include <string>

#include "kernel/kernel.h"
#include "protocol/ce_constants.h"
#include "protocol/errors.h"

namespace cek {

inline std::ostream& operator<<(std::ostream& os, Win32Error e) {
    return os << error_name(e) << '(' << to_u32(e) << ')';
}

namespace kernel {

inline std::ostream& operator<<(std::ostream& os, HandleValue h) {
    return os << "handle 0x" << std::hex << h.raw << std::dec;
}
inline std::ostream& operator<<(std::ostream& os, ProcessId p) {
    return os << "process " << p.raw;
}

}  // namespace kernel

namespace unit {

using kernel::HandleValue;
using kernel::Kernel;
using kernel::KernelConfig;
using kernel::LastError;
using kernel::ProcessId;

inline constexpr uint64_t kWindowBase = 0x2000'0000'0000ULL;
inline constexpr uint64_t kWindowSize = 1ULL << 30;
inline constexpr uint64_t kGranule = 64ULL << 10;

// Protection and access values the tests need beyond ce_constants.h (Win32 values).
inline constexpr uint32_t kPageWriteCopy = 0x08;
inline constexpr uint32_t kPageExecuteReadWrite = 0x40;
inline constexpr uint32_t kSecImage = 0x01000000;
inline constexpr uint32_t kFileMapExecute = 0x20;

inline KernelConfig config(uint64_t window_size = kWindowSize,
                           uint32_t handle_capacity = kernel::HandleTable::kMaxEntries) {
    KernelConfig c;
    c.window_base = kWindowBase;
    c.window_size = window_size;
    c.handle_capacity = handle_capacity;
    return c;
}

// A kernel plus helpers that spell the CE calls the way the tests read best.
struct Scene {
    explicit Scene(KernelConfig c = config()) : k(c) {}

    ProcessId attach(const std::string& exe = "app.exe") {
        auto r = k.attach_process(next_pid++, exe, false);
        REQUIRE(r.ok());
        return r.value();
    }

    // CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, protect, high, low, name).
    Result<HandleValue> create(ProcessId p, uint32_t size_low, const std::u16string* name,
                               LastError& le, uint32_t protect = ce::kPageReadWrite,
                               uint32_t size_high = 0, uint32_t file = ce::kInvalidHandle) {
        return k.create_mapping(p, HandleValue{file}, protect, size_high, size_low, name, le);
    }
    Result<HandleValue> create(ProcessId p, uint32_t size_low, const std::u16string* name,
                               uint32_t protect = ce::kPageReadWrite, uint32_t size_high = 0) {
        LastError le = LastError::to(Win32Error::ERROR_FILE_NOT_FOUND);
        return create(p, size_low, name, le, protect, size_high);
    }
    // A mapping that must be created; fails the test otherwise.
    HandleValue make(ProcessId p, uint32_t size_low, const std::u16string* name = nullptr) {
        auto r = create(p, size_low, name);
        REQUIRE(r.ok());
        return r.value();
    }
    kernel::MapViewResult view(ProcessId p, HandleValue h, uint32_t offset = 0, uint64_t size = 0,
                               uint32_t access = ce::kFileMapWrite) {
        auto r = k.map_view(p, h, access, 0, offset, size);
        REQUIRE(r.ok());
        return r.value();
    }

    Kernel k;
    int next_pid = 1000;
};

}  // namespace unit
}  // namespace cek
