// Every code in common/errors.def, for tests that must cover them all.
#pragma once

#include <cstdint>

namespace cek::test {

inline constexpr uint32_t kAllErrorCodes[] = {
#define CEK_ERROR(name, value) value,
#include "common/errors.def"
#undef CEK_ERROR
};

}  // namespace cek::test
