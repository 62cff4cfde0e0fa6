// The dispatcher: every table here is derived from protocol/requests.def, so a request is
// declared once. For each request the table holds a decoder (copy the fixed part out, check its
// size, call the family's handler) and the trace text of its arguments and reply.
#include "kernel/dispatch/dispatch.h"

#include <array>
#include <cstring>

#include "common/utf.h"
#include "kernel/dispatch/trace_text.h"
#include "kernel/handlers/handlers.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "protocol/futex.h"
#include "protocol/messages.h"

namespace cek::kernel {

// ---- Call context ----

size_t ReplyWriter::room_after(size_t body_size) const {
    const size_t used = sizeof(proto::ReplyHeader) + body_size;
    return out_.size() > used ? out_.size() - used : 0;
}

size_t ReplyWriter::overflow(size_t size) {
    // Every handler sizes its data to the reply area; reaching this is a kernel bug.
    log::ipc()->error("reply of {} bytes does not fit the slot", size);
    return finish(true, LastError::to(Win32Error::ERROR_INSUFFICIENT_BUFFER), nullptr, 0, {});
}

bool Extra::text(uint32_t chars, std::u16string& out) {
    const uint64_t bytes = uint64_t{chars} * sizeof(char16_t);
    if (bytes > bytes_.size()) return false;
    out.resize(chars);
    std::memcpy(out.data(), bytes_.data(), static_cast<size_t>(bytes));
    bytes_ = bytes_.subspan(static_cast<size_t>(bytes));
    return true;
}

bool Extra::name(bool present, uint32_t chars, std::optional<std::u16string>& out) {
    if (!present) return true;
    std::u16string name;
    if (!text(chars, name)) return false;
    out = std::move(name);
    return true;
}

std::string Extra::quoted(uint32_t chars) {
    std::u16string name;
    if (!text(chars, name)) return "<truncated>";
    auto utf8 = utf8_from_utf16_strict(name);
    return "\"" + (utf8 ? *utf8 : std::string("<invalid UTF-16>")) + "\"";
}

namespace {

using proto::ReplyHeader;
using proto::RequestCode;
using proto::RequestHeader;

// ---- The tables ----

template <class Request>
size_t decode(Call& call, std::span<const std::byte> body) {
    Request request{};
    if (body.size() < sizeof request) return call.malformed();
    std::memcpy(&request, body.data(), sizeof request);
    return handlers::handle(call, request, Extra(body.subspan(sizeof request)));
}

// Trace text of a struct and the data after it; "<short ...>" when the struct is not all there.
template <class T>
std::string text_of(std::span<const std::byte> body, const char* short_text) {
    T value{};
    if (body.size() < sizeof value) return short_text;
    std::memcpy(&value, body.data(), sizeof value);
    return handlers::describe(value, Extra(body.subspan(sizeof value)));
}
template <class Request>
std::string request_text(std::span<const std::byte> body) {
    return text_of<Request>(body, "<short request>");
}
template <class Reply>
std::string reply_text(std::span<const std::byte> body) {
    return text_of<Reply>(body, "");
}

using Decoder = size_t (*)(Call&, std::span<const std::byte>);
using Describer = std::string (*)(std::span<const std::byte>);

constexpr Decoder kDecoders[] = {
#define CEK_REQUEST(name) &decode<proto::name##Request>,
#include "protocol/requests.def"
#undef CEK_REQUEST
};
constexpr Describer kRequestText[] = {
#define CEK_REQUEST(name) &request_text<proto::name##Request>,
#include "protocol/requests.def"
#undef CEK_REQUEST
};
constexpr Describer kReplyText[] = {
#define CEK_REQUEST(name) &reply_text<proto::name##Reply>,
#include "protocol/requests.def"
#undef CEK_REQUEST
};
static_assert(std::size(kDecoders) == static_cast<size_t>(RequestCode::Count));

// ---- Dispatch ----

// The header of a well-formed request, or nullopt.
std::optional<RequestHeader> header_of(std::span<const std::byte> request) {
    RequestHeader h{};
    if (request.size() < sizeof h) return std::nullopt;
    std::memcpy(&h, request.data(), sizeof h);
    if (h.size < sizeof h || h.size > request.size() ||
        h.code >= static_cast<uint32_t>(RequestCode::Count))
        return std::nullopt;
    return h;
}

size_t dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                std::span<std::byte> reply, uint64_t tag, Attachment* attachment) {
    ReplyWriter w(reply);
    auto h = header_of(request);
    if (!h) {
        log::ipc()->debug("malformed request of {} bytes", request.size());
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    }
    Call call{kernel, caller, h->thread_id, tag, w};
    const size_t n = kDecoders[h->code](call, request.subspan(sizeof *h, h->size - sizeof *h));
    const auto code = static_cast<RequestCode>(h->code);
    if (attachment != nullptr && n != 0 && call.attachment.fd >= 0) {
        ReplyHeader rh{};
        std::memcpy(&rh, reply.data(), sizeof rh);
        if (rh.failed == 0) *attachment = call.attachment;  // a failed reply names nothing
    }
    if (n == 0) {
        log::trace()->trace("process={} tid={} {} -> pending", caller.raw, h->thread_id,
                            proto::request_name(code));
    } else if (log::trace()->should_log(spdlog::level::trace)) {
        ReplyHeader rh{};
        std::memcpy(&rh, reply.data(), sizeof rh);
        log::trace()->trace("process={} tid={} {} -> {}{}({})", caller.raw, h->thread_id,
                            proto::request_name(code), rh.failed ? "FAILED " : "",
                            error_name(static_cast<Win32Error>(rh.error)), rh.error);
    }
    return n;
}

// The same call, recorded in the trace ring with decoded arguments and result. Only taken
// while a tracer is attached; the request is the kernel's private copy.
size_t dispatch_traced(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                       std::span<std::byte> reply, uint64_t tag, Attachment* attachment) {
    const uint64_t start_mono = proto::monotonic_ns();
    const uint64_t start_real = proto::realtime_ns();
    const size_t n = dispatch(kernel, caller, request, reply, tag, attachment);
    const uint64_t duration = proto::monotonic_ns() - start_mono;
    RequestHeader raw{};
    if (request.size() < sizeof raw) return n;
    std::memcpy(&raw, request.data(), sizeof raw);
    // The tracers' own polling would drown everything else.
    if (raw.code == static_cast<uint32_t>(RequestCode::TraceRead)) return n;
    TraceEntry e;
    e.record.time_ns = start_real;
    e.record.duration_ns = duration;
    e.record.process_id = caller.raw;
    e.record.pid = kernel.pid_of(caller);
    e.record.thread_id = raw.thread_id;
    e.record.code = raw.code;
    ReplyHeader rh{};
    if (n != 0) std::memcpy(&rh, reply.data(), sizeof rh);
    e.record.error = rh.error;
    e.record.failed = rh.failed;
    e.record.set_error = rh.set_error;
    if (auto h = header_of(request)) {
        auto code = static_cast<RequestCode>(h->code);
        e.args = trace_text::bounded(
            describe_request(code, request.subspan(sizeof *h, h->size - sizeof *h)));
        if (n == 0)
            e.result = "pending";
        else if (rh.failed == 0)
            e.result = trace_text::bounded(describe_reply(
                code, std::span<const std::byte>(reply.data(), n).subspan(sizeof rh)));
    } else {
        e.args = "<malformed>";
    }
    kernel.diagnostics().record(std::move(e));
    return n;
}

}  // namespace

std::string describe_request(RequestCode code, std::span<const std::byte> body) {
    const auto i = static_cast<size_t>(code);
    return i < std::size(kRequestText) ? kRequestText[i](body) : "<unknown request>";
}

std::string describe_reply(RequestCode code, std::span<const std::byte> body) {
    const auto i = static_cast<size_t>(code);
    return i < std::size(kReplyText) ? kReplyText[i](body) : "";
}

size_t decode_and_dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                           std::span<std::byte> reply, uint64_t tag, Attachment* attachment) {
    if (attachment != nullptr) *attachment = Attachment{};
    // The one cost of tracing when nobody traces: this branch.
    const size_t n = kernel.diagnostics().tracing()
                         ? dispatch_traced(kernel, caller, request, reply, tag, attachment)
                         : dispatch(kernel, caller, request, reply, tag, attachment);
    // Before the caller sees its answer: mutexes the call took over go back to their words.
    kernel.publish_mutex_words();
    return n;
}

size_t encode_failure(Win32Error e, std::span<std::byte> reply) {
    ReplyWriter w(reply);
    return w.fail(e);
}

size_t encode_wait_completion(uint32_t result, std::span<std::byte> reply) {
    ReplyWriter w(reply);
    return w.ok(proto::WaitObjectsReply{result, 0});
}

namespace {

template <class Reply>
size_t empty_reply(ReplyWriter& w) {
    return w.ok(Reply{});
}
using Completer = size_t (*)(ReplyWriter&);
constexpr Completer kEmptyReplies[] = {
#define CEK_REQUEST(name) &empty_reply<proto::name##Reply>,
#include "protocol/requests.def"
#undef CEK_REQUEST
};

}  // namespace

size_t encode_completion(const WaitCompletion& done, std::span<std::byte> reply) {
    if (done.code == RequestCode::WaitObjects && !done.failed)
        return encode_wait_completion(done.result, reply);
    ReplyWriter w(reply);
    const auto i = static_cast<size_t>(done.code);
    if (i >= std::size(kEmptyReplies)) {
        log::ipc()->error("completion of unknown request code {}", i);
        return w.fail(Win32Error::ERROR_GEN_FAILURE);
    }
    if (done.failed) return w.fail(done.error);
    // A parked ReadMsgQueue / WriteMsgQueue: the reply its handler would have written.
    if (done.code == RequestCode::MsgQueueRead)
        return w.ok(proto::MsgQueueReadReply{done.msg_size, done.msg_flags},
                    LastError::to(done.msg_truncated ? Win32Error::ERROR_INSUFFICIENT_BUFFER
                                                     : Win32Error::ERROR_SUCCESS),
                    done.msg_data);
    if (done.code == RequestCode::ProcessCreate)
        return w.ok(proto::ProcessCreateReply{done.process_handle, done.thread_handle,
                                              done.process_id, done.thread_id});
    // A held thread resumed (ThreadControl AwaitResume): its state, count 0. A suspend or
    // terminate another process's agent carried out: the state the call left.
    if (done.code == RequestCode::ThreadControl)
        return w.ok(proto::ThreadControlReply{done.thread_handle, done.thread_previous,
                                              done.thread_count, done.result, done.thread_tid,
                                              done.thread_exited ? proto::kThreadGone : 0u});
    if (done.code == RequestCode::MsgQueueWrite)
        return w.ok(proto::MsgQueueWriteReply{done.msg_size, 1},
                    LastError::to(Win32Error::ERROR_SUCCESS));
    return kEmptyReplies[i](w);
}

}  // namespace cek::kernel
