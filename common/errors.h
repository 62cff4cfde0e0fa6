// Win32 error codes as they travel from the kernel to GetLastError.
#pragma once

#include <cstdint>
#include <string_view>

namespace cek {

enum class Win32Error : uint32_t {
#define CEK_ERROR(name, value) name = value,
#include "errors.def"
#undef CEK_ERROR
};

// The Win32 name of a code ("ERROR_INVALID_HANDLE"), or "ERROR_<unknown>".
constexpr std::string_view error_name(Win32Error e) {
    switch (e) {
#define CEK_ERROR(name, value) \
    case Win32Error::name:     \
        return #name;
#include "errors.def"
#undef CEK_ERROR
    }
    return "ERROR_<unknown>";
}

constexpr uint32_t to_u32(Win32Error e) { return static_cast<uint32_t>(e); }

}  // namespace cek
