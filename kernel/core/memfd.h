// The kernel's shared memory: memfds that are owner-only and can never be resized.
#pragma once

#include <cstddef>

namespace cek::kernel {

// A memfd of `size` bytes, mode 0600, sealed against shrinking and growing and with `seals`
// added too (F_SEAL_SEAL, ...); -1 with errno set on failure.
int make_memfd(const char* name, size_t size, int seals);

}  // namespace cek::kernel
