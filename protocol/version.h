// Protocol identity, checked by both sides at connect time.
#pragma once

#include <cstdint>

namespace cek::proto {

inline constexpr uint32_t kMagic = 0x314B4543;  // "CEK1" little-endian
// Bump on any change to channel.h, messages.h, requests.def or snapshot.h.
inline constexpr uint32_t kProtocolVersion = 26;

}  // namespace cek::proto
