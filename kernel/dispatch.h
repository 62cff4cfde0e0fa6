// decode_and_dispatch: one request in, one reply out. A pure function of the kernel state and
// the request bytes (already copied out of shared memory), so it can be fuzzed in-process.
// Malformed requests get a failed reply with ERROR_INVALID_PARAMETER; nothing here trusts a
// length, code or offset from the client.
#pragma once

#include <cstddef>
#include <span>

#include "kernel/core/ids.h"

namespace cek::kernel {

class Kernel;

// Writes the reply (header + body) into `reply` and returns its size in bytes.
size_t decode_and_dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                           std::span<std::byte> reply);

}  // namespace cek::kernel
