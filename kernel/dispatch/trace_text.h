// The words of `cedump trace`: small formatters the handlers' describe() functions share.
// Built only while someone traces, so clarity beats speed here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

namespace cek::kernel::trace_text {

std::string hex(uint64_t v);
// A handle value, or INVALID_HANDLE_VALUE.
std::string handle(uint32_t h);
// `value`'s bits as NAME|NAME, with any unnamed rest in hex; "0" when none.
std::string flags(uint32_t value, std::initializer_list<std::pair<uint32_t, const char*>> names);
// `value` as one of `names` (indexed by value), or its number.
template <size_t N>
std::string choice(uint32_t value, const char* const (&names)[N]) {
    return value < N ? names[value] : std::to_string(value);
}
// "handle=..." for the many requests whose one argument is a handle.
template <class Request>
std::string handle_argument(const Request& r) {
    return "handle=" + handle(r.handle);
}
std::string protect(uint32_t p);
std::string map_access(uint32_t a);
std::string file_access(uint32_t a);
std::string share(uint32_t s);
std::string disposition(uint32_t d);
std::string timeout(uint32_t ms);
// At most 600 bytes, so that two MAX_PATH names fit and a wire record stays small.
std::string bounded(std::string s);

}  // namespace cek::kernel::trace_text
