// decode_and_dispatch: one request in, one reply out. A pure function of the kernel state and
// the request bytes (already copied out of shared memory), so it can be fuzzed in-process.
// Malformed requests get a failed reply with ERROR_INVALID_PARAMETER; nothing here trusts a
// length, code or offset from the client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/errors.h"
#include "kernel/core/ids.h"
#include "protocol/request_codes.h"

namespace cek::kernel {

class Kernel;

// A descriptor of the kernel's that a successful reply tells the caller to take (MapView's
// first view of a mapping, FileDescriptor with send_fd). Nothing is sent here: the transport
// sends `fd` on the caller's socket before it publishes the reply, and when it cannot, undoes
// `undo_view` (the view the call made, if any) and answers ERROR_TOO_MANY_OPEN_FILES instead.
struct Attachment {
    int fd = -1;  // the kernel's descriptor (still owned by the kernel); -1: none
    uint64_t dev = 0;
    uint64_t ino = 0;
    uint64_t undo_view = 0;  // the view's address, or 0
};

// Writes the reply (header + body) into `reply` and returns its size in bytes, or returns 0
// when the call is left pending (a wait that cannot complete yet): the kernel then reports it
// later as a WaitCompletion carrying `tag`, which the transport must keep unique among the
// caller's pending calls (e.g. slot index and sequence) and answers with
// encode_wait_completion(). `attachment`, when given, receives the descriptor a successful
// reply names (fd -1 otherwise); a transport that can deliver descriptors must pass it.
size_t decode_and_dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                           std::span<std::byte> reply, uint64_t tag = 0,
                           Attachment* attachment = nullptr);

struct WaitCompletion;

// A failed reply with error `e`: what replaces a reply whose descriptor could not be sent.
size_t encode_failure(Win32Error e, std::span<std::byte> reply);
// The reply to a wait that completed after it was left pending.
size_t encode_wait_completion(uint32_t result, std::span<std::byte> reply);
// The reply to any call that completed after it was left pending: a wait's WAIT_* value, or
// another request's empty success reply or its error.
size_t encode_completion(const WaitCompletion& done, std::span<std::byte> reply);

// The trace text of a request's arguments (`body` is what follows the RequestHeader) and of a
// successful reply (`body` is what follows the ReplyHeader), as `cedump trace` shows them.
std::string describe_request(proto::RequestCode code, std::span<const std::byte> body);
std::string describe_reply(proto::RequestCode code, std::span<const std::byte> body);

}  // namespace cek::kernel
