// The shared mapping window: CE 5's mapper region (0x42000000..0x7E000000) emulated by one
// reservation at the same address in the kernel's plan and in every client. Its base depends on
// what else owns the address space (sanitizer shadow memory, PIE images), so it has a per-build
// default, may be overridden with CEK_WINDOW_BASE / CEK_WINDOW_SIZE (hex or decimal), and is
// announced by the kernel at connect time. See docs/decisions/0003-address-window.md.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace cek::proto {

#if defined(__SANITIZE_THREAD__)
inline constexpr uint64_t kDefaultWindowBase = 0x5660'0000'0000ULL;  // TSan's app range
#else
inline constexpr uint64_t kDefaultWindowBase = 0x2000'0000'0000ULL;  // native and ASan
#endif
inline constexpr uint64_t kDefaultWindowSize = 64ULL << 30;  // 64 GiB of address space
inline constexpr uint64_t kWindowGranularity = 64ULL << 10;  // CE's 64 KiB allocation unit
inline constexpr uint64_t kLargeAlignment = 2ULL << 20;       // huge-page-friendly placement
// CE 5 huge reservations (VmReserve): from 2 MiB; at most CE 5's whole mapper region
// (0x42000000-0x7E000000, 960 MiB) at once.
inline constexpr uint64_t kHugeReservationMinimum = 2ULL << 20;
inline constexpr uint64_t kHugeReservationMaximum = 0x3C000000;

struct WindowConfig {
    uint64_t base;
    uint64_t size;
};

// Reads the environment overrides; invalid values fall back to the defaults.
inline WindowConfig window_config_from_env() {
    WindowConfig cfg{kDefaultWindowBase, kDefaultWindowSize};
    auto parse = [](const char* name, uint64_t& out) {
        const char* text = std::getenv(name);
        if (text == nullptr || *text == '\0') return;
        char* end = nullptr;
        unsigned long long v = std::strtoull(text, &end, 0);
        if (end != nullptr && *end == '\0' && v != 0 && v % kLargeAlignment == 0) out = v;
    };
    parse("CEK_WINDOW_BASE", cfg.base);
    parse("CEK_WINDOW_SIZE", cfg.size);
    return cfg;
}

}  // namespace cek::proto
