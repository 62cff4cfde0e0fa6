// One record of the kernel's trace ring as it travels to `cedump trace` (TraceRead, messages.h):
// the fixed part, then `args_bytes` and `result_bytes` of UTF-8. The kernel core keeps these
// records; the wire only copies them.
#pragma once

#include <cstdint>

namespace cek::proto {

// Records kept while someone traces, unless the kernel is configured otherwise.
inline constexpr uint32_t kTraceCapacity = 4096;

struct TraceRecordWire {
    uint64_t seq;
    uint64_t time_ns;      // CLOCK_REALTIME when the kernel took the request
    uint64_t duration_ns;  // handling time in the kernel
    uint32_t process_id;
    int32_t pid;
    uint32_t thread_id;
    uint32_t code;       // RequestCode
    uint32_t error;      // the reply's Win32 error
    uint8_t failed;
    uint8_t set_error;
    uint16_t args_bytes;    // then args_bytes of UTF-8 arguments
    uint16_t result_bytes;  // then result_bytes of UTF-8 result
    uint16_t reserved[3];
};
static_assert(sizeof(TraceRecordWire) == 56);

}  // namespace cek::proto
