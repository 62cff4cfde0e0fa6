// The request handlers, one set per request in protocol/requests.def, declared here from that
// list and defined per object family (handles.cpp, mapping.cpp, file.cpp, path.cpp, sync.cpp,
// diagnostics.cpp). A request without its three functions does not link.
//
//   handle(call, request, extra)  decodes what is left (names, paths), calls one Kernel rule and
//                                 writes the reply; returns its size, or Call::pending().
//   describe(request, extra)      the arguments as `cedump trace` shows them.
//   describe(reply, data)         what a successful call returned, for the same trace.
//
// The dispatcher (dispatch/dispatch.cpp) has already copied the fixed part out of the request
// and checked its size; `extra` is the variable data that followed it.
#pragma once

#include <string>

#include "kernel/dispatch/call.h"
#include "kernel/dispatch/trace_text.h"
#include "protocol/messages.h"

namespace cek::kernel::handlers {

// The words every family's describe() uses.
using std::to_string;
using trace_text::handle;
using trace_text::handle_argument;
using trace_text::hex;

#define CEK_REQUEST(name)                                                      \
    size_t handle(Call& call, const proto::name##Request& request, Extra extra); \
    std::string describe(const proto::name##Request& request, Extra extra);    \
    std::string describe(const proto::name##Reply& reply, Extra data);
#include "protocol/requests.def"
#undef CEK_REQUEST

}  // namespace cek::kernel::handlers
