// The request codes, derived from requests.def: the code is a request's position in that list.
// Kept apart from the message layouts so that the kernel core (which names WaitObjects in its
// trace of a completed wait) needs no wire structs.
#pragma once

#include <cstdint>

namespace cek::proto {

enum class RequestCode : uint32_t {
#define CEK_REQUEST(name) name,
#include "requests.def"
#undef CEK_REQUEST
    Count
};

constexpr const char* request_name(RequestCode code) {
    switch (code) {
#define CEK_REQUEST(name)     \
    case RequestCode::name: \
        return #name;
#include "requests.def"
#undef CEK_REQUEST
    case RequestCode::Count:
        break;
    }
    return "<unknown>";
}

}  // namespace cek::proto
