// Requests on message queues. Rules: docs/semantics/msgqueue.md; how message bytes travel:
// docs/decisions/0007-message-queues.md.
#include <array>
#include <string>
#include <vector>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

std::string flags_text(uint32_t flags) {
    std::string out;
    if ((flags & proto::kMsgQueueNoPrecommit) != 0) out += "noprecommit";
    if ((flags & proto::kMsgQueueAllowBroken) != 0) out += out.empty() ? "allow_broken" : "|allow_broken";
    if ((flags & ~(proto::kMsgQueueNoPrecommit | proto::kMsgQueueAllowBroken)) != 0)
        out += (out.empty() ? "" : "|") + hex(flags & ~(proto::kMsgQueueNoPrecommit |
                                                       proto::kMsgQueueAllowBroken));
    return out.empty() ? "0" : out;
}

const char* direction(uint32_t read_access) { return read_access != 0 ? "reader" : "writer"; }

}  // namespace

size_t handle(Call& call, const proto::MsgQueueCreateRequest& req, Extra extra) {
    std::optional<std::u16string> name;
    if (!extra.name(req.has_name != 0, req.name_chars, name)) return call.malformed();
    LastError le;
    auto r = call.kernel.create_msg_queue(call.caller, name ? &*name : nullptr, req.options_size,
                                          MsgQueueOptions{req.flags, req.max_messages, req.max_bytes},
                                          req.read_access != 0, le);
    if (!r) return call.fail(r.error());
    return call.ok(proto::MsgQueueCreateReply{r.value().raw, 0}, le);
}
std::string describe(const proto::MsgQueueCreateRequest& req, Extra extra) {
    return std::string(direction(req.read_access)) + " flags=" + flags_text(req.flags) +
           " max_messages=" + to_string(req.max_messages) + " max_bytes=" +
           to_string(req.max_bytes) + " size=" + to_string(req.options_size) +
           " name=" + (req.has_name != 0 ? extra.quoted(req.name_chars) : "NULL");
}
std::string describe(const proto::MsgQueueCreateReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::MsgQueueOpenRequest& req, Extra) {
    auto r = call.kernel.open_msg_queue(call.caller, req.source_process, HandleValue{req.handle},
                                        req.options_size, req.read_access != 0);
    if (!r) return call.fail(r.error());
    return call.ok(proto::MsgQueueOpenReply{r.value().raw, 0},
                   LastError::to(Win32Error::ERROR_SUCCESS));
}
std::string describe(const proto::MsgQueueOpenRequest& req, Extra) {
    return "process=" + hex(req.source_process) + " handle=" + handle(req.handle) + " " +
           direction(req.read_access) + " size=" + to_string(req.options_size);
}
std::string describe(const proto::MsgQueueOpenReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::MsgQueueWriteRequest& req, Extra extra) {
    const HandleValue queue{req.handle};
    const std::span<const std::byte> sent = extra.rest();
    const size_t part = sent.size();
    std::vector<std::byte> bytes(sent.begin(), sent.end());
    const auto written = [&](const std::optional<Result<void>>& r) {
        if (!r) return Call::pending();  // parked until there is room or the time is up
        if (!*r) return call.fail(r->error());
        return call.ok(proto::MsgQueueWriteReply{req.total, 1},
                       LastError::to(Win32Error::ERROR_SUCCESS));
    };
    if (req.offset == 0 && part == req.total && part != 0)  // the whole message: the common case
        return written(call.kernel.write_msg_queue(call.thread(), queue, bytes, req.flags,
                                                   req.timeout_ms, call.tag));
    if (req.total == 0) {
        call.kernel.drop_msg_staging(call.thread());
        return call.fail(Win32Error::ERROR_INVALID_PARAMETER);
    }
    uint32_t staged = req.offset;
    if (part != 0 || req.offset == 0) {
        auto s = call.kernel.stage_msg_part(call.thread(), queue, req.total, req.offset, bytes);
        if (!s) return call.fail(s.error());
        staged = s.value();
    }
    if (staged < req.total) return call.ok(proto::MsgQueueWriteReply{staged, 0});
    return written(call.kernel.write_staged_msg(call.thread(), queue, req.flags, req.timeout_ms,
                                                call.tag));
}
std::string describe(const proto::MsgQueueWriteRequest& req, Extra extra) {
    std::string out = "handle=" + handle(req.handle) + " bytes=" + to_string(req.total);
    if (req.offset != 0 || extra.size() != req.total)
        out += " part=" + to_string(req.offset) + "+" + to_string(extra.size());
    if ((req.flags & proto::kMsgQueueMsgAlert) != 0) out += " alert";
    return out + " timeout=" + trace_text::timeout(req.timeout_ms);
}
std::string describe(const proto::MsgQueueWriteReply& rep, Extra) {
    return rep.written != 0 ? "TRUE" : "staged=" + to_string(rep.staged);
}

size_t handle(Call& call, const proto::MsgQueueReadRequest& req, Extra) {
    const HandleValue queue{req.handle};
    if (req.offset != 0) {
        std::array<std::byte, proto::kMsgQueueReadInline> part;
        auto n = call.kernel.take_read_rest(call.thread(), queue, req.offset, part);
        if (!n) return call.fail(n.error());
        return call.ok(proto::MsgQueueReadReply{n.value(), 0}, LastError::keep(),
                       std::span(part.data(), n.value()));
    }
    auto parked = call.kernel.read_msg_queue(call.thread(), queue, req.capacity, req.timeout_ms,
                                             call.tag, proto::kMsgQueueReadInline);
    if (!parked) return Call::pending();  // answered when a message comes or the time is up
    auto& r = *parked;
    if (!r) return call.fail(r.error());
    MsgQueueMessage& m = r.value();
    const auto size = static_cast<uint32_t>(m.data.size());
    const uint32_t now = std::min(size, proto::kMsgQueueReadInline);
    const size_t written =
        call.ok(proto::MsgQueueReadReply{size, m.flags},
                LastError::to(m.truncated ? Win32Error::ERROR_INSUFFICIENT_BUFFER
                                          : Win32Error::ERROR_SUCCESS),
                std::span<const std::byte>(m.data.data(), now));
    if (now < size) call.kernel.keep_read_rest(call.thread(), queue, std::move(m), now);
    return written;
}
std::string describe(const proto::MsgQueueReadRequest& req, Extra) {
    std::string out = "handle=" + handle(req.handle) + " capacity=" + to_string(req.capacity);
    if (req.offset != 0) return out + " rest_from=" + to_string(req.offset);
    return out + " timeout=" + trace_text::timeout(req.timeout_ms);
}
std::string describe(const proto::MsgQueueReadReply& rep, Extra) {
    return "bytes=" + to_string(rep.size) +
           ((rep.flags & proto::kMsgQueueMsgAlert) != 0 ? " alert" : "");
}

size_t handle(Call& call, const proto::MsgQueueInfoRequest& req, Extra) {
    auto r = call.kernel.msg_queue_info(call.caller, HandleValue{req.handle}, req.info_size);
    if (!r) return call.fail(r.error());
    const MsgQueueInfo& i = r.value();
    return call.ok(proto::MsgQueueInfoReply{i.flags, i.max_messages, i.max_bytes, i.current,
                                            i.high_water, i.readers, i.writers});
}
std::string describe(const proto::MsgQueueInfoRequest& req, Extra) {
    return handle_argument(req) + " size=" + to_string(req.info_size);
}
std::string describe(const proto::MsgQueueInfoReply& rep, Extra) {
    return "flags=" + flags_text(rep.flags) + " max_messages=" + to_string(rep.max_messages) +
           " max_bytes=" + to_string(rep.max_bytes) + " current=" + to_string(rep.current) +
           " high_water=" + to_string(rep.high_water) + " readers=" + to_string(rep.readers) +
           " writers=" + to_string(rep.writers);
}

size_t handle(Call& call, const proto::MsgQueueRingRequest& req, Extra) {
    auto r = call.kernel.msg_queue_ring(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    const MsgRingGrant& g = r.value();
    proto::MsgQueueRingReply rep{g.queue_id, 0, 0, 0, -1, g.reader ? 1u : 0u, g.max_messages,
                                 g.max_bytes};
    if (g.ring != nullptr) {
        rep.ring_bytes = g.ring->ring().bytes();
        rep.dev = g.ring->dev();
        rep.ino = g.ring->ino();
        if (req.send_ring != 0) {
            rep.kernel_fd = g.ring->fd();
            call.attach(g.ring->fd(), g.ring->dev(), g.ring->ino());
        }
    }
    return call.ok(rep);
}
std::string describe(const proto::MsgQueueRingRequest& req, Extra) {
    return handle_argument(req) + (req.send_ring != 0 ? " send" : " check");
}
std::string describe(const proto::MsgQueueRingReply& rep, Extra) {
    return std::string(direction(rep.reader)) + " queue=" + to_string(rep.queue_id) +
           (rep.ring_bytes != 0 ? " ring=" + to_string(rep.ring_bytes) + " fd=" +
                                      to_string(rep.kernel_fd)
                                : std::string(" no ring"));
}

size_t handle(Call& call, const proto::MsgQueueNotifyRequest& req, Extra) {
    auto r = call.kernel.notify_msg_queue(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    return call.ok(proto::MsgQueueNotifyReply{0});
}
std::string describe(const proto::MsgQueueNotifyRequest& req, Extra) {
    return handle_argument(req);
}
std::string describe(const proto::MsgQueueNotifyReply&, Extra) { return "TRUE"; }

}  // namespace cek::kernel::handlers
