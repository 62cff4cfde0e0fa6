// What a request handler works with: the caller, the variable data after the request's fixed
// part, and the reply it writes. See handlers/handlers.h for the handlers themselves and
// docs/protocol.md for the recipe that adds a request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "kernel/core/ids.h"
#include "kernel/dispatch/dispatch.h"
#include "kernel/kernel.h"
#include "protocol/messages.h"

namespace cek::kernel {

// Builds one reply (ReplyHeader, body, data) in the caller's reply area.
class ReplyWriter {
public:
    explicit ReplyWriter(std::span<std::byte> out) : out_(out) {}

    template <class Reply>
    size_t ok(const Reply& body, LastError le = LastError::keep(),
              std::span<const std::byte> data = {}) {
        return finish(false, le, &body, sizeof body, data);
    }
    size_t fail(Win32Error e) { return finish(true, LastError::to(e), nullptr, 0, {}); }
    // FALSE with the caller's last error left as it was (CE does this in a few places).
    size_t fail_silently() { return finish(true, LastError::keep(), nullptr, 0, {}); }
    // Room for data after a reply body of `body_size` bytes.
    size_t room_after(size_t body_size) const;

private:
    // Inline, so that each handler writes its reply without a call (this is the hot path of
    // every request: a header, a small body, sometimes data).
    size_t finish(bool failed, LastError le, const void* body, size_t body_size,
                  std::span<const std::byte> data) {
        const size_t size = sizeof(proto::ReplyHeader) + body_size + data.size();
        if (size > out_.size()) [[unlikely]]
            return overflow(size);
        proto::ReplyHeader h{};
        h.size = static_cast<uint32_t>(size);
        h.error = static_cast<uint32_t>(le.code);
        h.failed = failed ? 1 : 0;
        h.set_error = le.set ? 1 : 0;
        std::memcpy(out_.data(), &h, sizeof h);
        if (body_size != 0) std::memcpy(out_.data() + sizeof h, body, body_size);
        if (!data.empty()) std::memcpy(out_.data() + sizeof h + body_size, data.data(), data.size());
        return size;
    }
    // A reply that does not fit the slot: a kernel bug, logged; the caller gets
    // ERROR_INSUFFICIENT_BUFFER.
    [[gnu::cold]] size_t overflow(size_t size);

    std::span<std::byte> out_;
};

// The variable data after a request's fixed part, taken front to back. Every length comes from
// the client, so each read is bounded by what was actually sent (in 64-bit arithmetic).
class Extra {
public:
    explicit Extra(std::span<const std::byte> bytes) : bytes_(bytes) {}

    template <class T>
    bool take(T& out) {
        if (bytes_.size() < sizeof(T)) return false;
        std::memcpy(&out, bytes_.data(), sizeof(T));
        bytes_ = bytes_.subspan(sizeof(T));
        return true;
    }
    // `chars` UTF-16 units; false, and nothing taken, when fewer were sent.
    bool text(uint32_t chars, std::u16string& out);
    // An optional name: nothing to read unless `present`.
    bool name(bool present, uint32_t chars, std::optional<std::u16string>& out);
    // For trace text: the next `chars` units as a quoted UTF-8 string, or "<truncated>".
    std::string quoted(uint32_t chars);
    size_t size() const { return bytes_.size(); }
    // Everything not taken yet, as sent (message data).
    std::span<const std::byte> rest() const { return bytes_; }

private:
    std::span<const std::byte> bytes_;
};

// One call being handled: who asked (process and thread), the transport's tag for a reply that
// is left pending (waits), the kernel, the reply being written, and the descriptor the reply
// tells the caller to take, if any (the transport sends it; see dispatch.h).
struct Call {
    Kernel& kernel;
    ProcessId caller;
    uint32_t thread_id;
    uint64_t tag;
    ReplyWriter& reply;
    Attachment attachment{};

    ThreadRef thread() const { return ThreadRef{caller, thread_id}; }

    // The successful reply about to be written names descriptor `fd` of the kernel: the caller
    // must receive it. `undo_view`: the view this call made, unmapped if it cannot be sent.
    void attach(int fd, uint64_t dev, uint64_t ino, uint64_t undo_view = 0) {
        attachment = Attachment{fd, dev, ino, undo_view};
    }

    template <class Reply>
    size_t ok(const Reply& body, LastError le = LastError::keep(),
              std::span<const std::byte> data = {}) {
        return reply.ok(body, le, data);
    }
    size_t fail(Win32Error e) { return reply.fail(e); }
    // The usual ending of a handler: `body` when the rule succeeded, else its error.
    template <class T, class Reply>
    size_t answer(const Result<T>& result, const Reply& body, LastError le = LastError::keep()) {
        if (!result) return fail(result.error());
        return ok(body, le);
    }
    size_t fail_silently() { return reply.fail_silently(); }
    // A malformed request: a length or code that does not match what was sent.
    size_t malformed() { return reply.fail(Win32Error::ERROR_INVALID_PARAMETER); }
    // No reply now: the kernel completes the call later (WaitCompletion with `tag`).
    static constexpr size_t pending() { return 0; }
};

}  // namespace cek::kernel
