// CE constant values that travel in requests (protection, access, flags). The kernel uses these
// cek:: names; only coredll's <windows.h> spells them the Win32 way.
#pragma once

#include <cstdint>

namespace cek::ce {

inline constexpr uint32_t kInvalidHandle = 0xFFFFFFFFu;  // INVALID_HANDLE_VALUE on the wire

// Page protection (CreateFileMapping).
inline constexpr uint32_t kPageReadOnly = 0x02;
inline constexpr uint32_t kPageReadWrite = 0x04;
inline constexpr uint32_t kSecCommit = 0x08000000;
inline constexpr uint32_t kPageInternalDbMapping = 0x20000000;

// View access (MapViewOfFile).
inline constexpr uint32_t kFileMapCopy = 0x0001;
inline constexpr uint32_t kFileMapWrite = 0x0002;
inline constexpr uint32_t kFileMapRead = 0x0004;
inline constexpr uint32_t kFileMapAllAccess = 0x000F001F;

// Object names: at most MAX_PATH - 1 characters (CE 5: longer gives ERROR_INVALID_PARAMETER).
inline constexpr uint32_t kMaxNameChars = 259;

}  // namespace cek::ce
