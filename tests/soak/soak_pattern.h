// The byte pattern the soak worker writes and the soak driver checks on the host file: a
// function of a 64-bit tag and the position only, so a report "tag, length" names the data.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cek::soak {

inline uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

inline unsigned char pattern_byte(uint64_t tag, size_t i) {
    return static_cast<unsigned char>(mix(tag ^ (uint64_t(i / 8) << 1)) >> (8 * (i % 8)));
}

inline void fill(unsigned char* p, size_t length, uint64_t tag) {
    for (size_t i = 0; i < length; ++i) p[i] = pattern_byte(tag, i);
}

inline bool matches(const unsigned char* p, size_t length, uint64_t tag) {
    for (size_t i = 0; i < length; ++i)
        if (p[i] != pattern_byte(tag, i)) return false;
    return true;
}

}  // namespace cek::soak
