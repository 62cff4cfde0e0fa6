// The calling thread's Linux thread id, cached per thread: a system call at a thread's first
// use only (and again in a fork child, whose one thread has an id of its own). Mutex ownership
// in the kernel goes by it. GetCurrentThreadId is the CE id (cached_thread_id).
#pragma once

#include <cstdint>

namespace cek::coredll {

uint32_t current_tid();

// The calling thread's CE id (its thread handle value, CE 5), cached per thread like the tid;
// 0 until the thread has one (api/thread.cpp asks the kernel once).
uint32_t cached_thread_id();
void set_cached_thread_id(uint32_t id);

}  // namespace cek::coredll
