// The calling thread's Linux thread id, cached per thread: a system call at a thread's first
// use only (and again in a fork child, whose one thread has an id of its own). Mutex ownership
// in the kernel and critical-section ownership in the process go by it.
#pragma once

#include <cstdint>

namespace cek::coredll {

uint32_t current_tid();

}  // namespace cek::coredll
