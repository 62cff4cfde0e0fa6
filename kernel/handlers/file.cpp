// Requests on file and search handles. Rules: docs/semantics/files.md.
#include <string>

#include "kernel/handlers/handlers.h"
#include "protocol/file_position.h"

namespace cek::kernel::handlers {

namespace {

// A directory entry; its name follows the reply.
proto::FindEntryWire entry_wire(const fsys::FindEntry& e) {
    return proto::FindEntryWire{e.attributes,
                                static_cast<uint32_t>(e.name.size()),
                                e.size,
                                e.times.creation,
                                e.times.last_access,
                                e.times.last_write,
                                0};
}

std::optional<uint64_t> pick(uint32_t which, uint32_t bit, uint64_t value) {
    return (which & bit) != 0 ? std::optional<uint64_t>(value) : std::nullopt;
}

}  // namespace

size_t handle(Call& call, const proto::CreateFileRequest& req, Extra extra) {
    CreateFileArgs args;
    if (!extra.text(req.path_chars, args.path)) return call.malformed();
    args.access = req.access;
    args.share = req.share;
    args.disposition = req.disposition;
    args.flags_and_attributes = req.flags_and_attributes;
    args.for_mapping = req.for_mapping != 0;
    LastError le;
    auto r = call.kernel.create_file(call.caller, args, le);
    if (!r) return call.fail(r.error());
    return call.ok(proto::CreateFileReply{r.value().raw, 0}, le);
}
std::string describe(const proto::CreateFileRequest& req, Extra extra) {
    return "path=" + extra.quoted(req.path_chars) +
           " access=" + trace_text::file_access(req.access) +
           " share=" + trace_text::share(req.share) +
           " disposition=" + trace_text::disposition(req.disposition) +
           " flags=" + hex(req.flags_and_attributes) + (req.for_mapping != 0 ? " for_mapping" : "");
}
std::string describe(const proto::CreateFileReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::FileDescriptorRequest& req, Extra) {
    auto r = call.kernel.file_descriptor(call.caller, HandleValue{req.handle},
                                         req.keep_position != 0);
    if (!r) return call.fail(r.error());
    const auto& d = r.value();
    if (req.send_fd != 0) call.attach(d.fd, d.dev, d.ino);
    return call.ok(proto::FileDescriptorReply{d.fd, d.access.read, d.access.write, d.kernel_owned,
                                              d.directory, d.position, d.dev, d.ino});
}
std::string describe(const proto::FileDescriptorRequest& req, Extra) {
    return handle_argument(req) + (req.send_fd != 0 ? " send_fd" : "") +
           (req.keep_position != 0 ? " keep_position" : "");
}
std::string describe(const proto::FileDescriptorReply& rep, Extra) {
    return "fd=" + to_string(rep.kernel_fd) +
           (rep.position != 0
                ? " position=slot " + to_string(proto::position_ref_slot(rep.position))
                : std::string(" position=shared"));
}

size_t handle(Call& call, const proto::FilePositionsRequest&, Extra) {
    auto r = call.kernel.file_positions(call.caller);
    if (!r) return call.fail(r.error());
    proto::FilePositionsReply rep{0, 0, -1, 0};
    if (const PositionTable* table = r.value()) {
        rep = proto::FilePositionsReply{table->dev(), table->ino(), table->fd(), 1};
        call.attach(table->fd(), table->dev(), table->ino());
    }
    return call.ok(rep);
}
std::string describe(const proto::FilePositionsRequest&, Extra) { return {}; }
std::string describe(const proto::FilePositionsReply& rep, Extra) {
    return rep.available != 0 ? "fd=" + to_string(rep.kernel_fd) : std::string("no table");
}

size_t handle(Call& call, const proto::SetEndOfFileRequest& req, Extra) {
    auto r = call.kernel.set_end_of_file(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    return call.ok(proto::SetEndOfFileReply{r.value()});
}
std::string describe(const proto::SetEndOfFileRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::SetEndOfFileReply& rep, Extra) {
    return "size=" + to_string(rep.size);
}

size_t handle(Call& call, const proto::FileInfoRequest& req, Extra) {
    auto r = call.kernel.file_info(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    const auto& i = r.value();
    return call.ok(proto::FileInfoReply{i.attributes, static_cast<uint32_t>(i.links), i.size,
                                        i.times.creation, i.times.last_access, i.times.last_write,
                                        i.id.dev, i.id.ino});
}
std::string describe(const proto::FileInfoRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::FileInfoReply& rep, Extra) {
    return "attributes=" + hex(rep.attributes) + " size=" + to_string(rep.size);
}

size_t handle(Call& call, const proto::SetFileTimeRequest& req, Extra) {
    auto r = call.kernel.set_file_time(call.caller, HandleValue{req.handle},
                                       pick(req.which, 1, req.creation),
                                       pick(req.which, 2, req.last_access),
                                       pick(req.which, 4, req.last_write));
    return call.answer(r, proto::SetFileTimeReply{});
}
std::string describe(const proto::SetFileTimeRequest& req, Extra) {
    return "handle=" + handle(req.handle) +
           " set=" + trace_text::flags(req.which, {{1, "creation"}, {2, "access"}, {4, "write"}});
}
std::string describe(const proto::SetFileTimeReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::FindFirstRequest& req, Extra extra) {
    std::u16string pattern;
    if (!extra.text(req.path_chars, pattern)) return call.malformed();
    fsys::FindEntry first;
    auto r = call.kernel.find_first(call.caller, pattern, first);
    if (!r) return call.fail(r.error());
    return call.ok(proto::FindFirstReply{r.value().raw, 0, entry_wire(first)}, LastError::keep(),
                   std::as_bytes(std::span(first.name)));
}
std::string describe(const proto::FindFirstRequest& req, Extra extra) {
    return "pattern=" + extra.quoted(req.path_chars);
}
std::string describe(const proto::FindFirstReply& rep, Extra data) {
    return handle(rep.handle) + " " + data.quoted(rep.entry.name_chars);
}

size_t handle(Call& call, const proto::FindNextRequest& req, Extra) {
    auto r = call.kernel.find_next(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    return call.ok(proto::FindNextReply{entry_wire(r.value())}, LastError::keep(),
                   std::as_bytes(std::span(r.value().name)));
}
std::string describe(const proto::FindNextRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::FindNextReply& rep, Extra data) {
    return data.quoted(rep.entry.name_chars);
}

size_t handle(Call& call, const proto::FindCloseRequest& req, Extra) {
    return call.answer(call.kernel.find_close(call.caller, HandleValue{req.handle}),
                       proto::FindCloseReply{});
}
std::string describe(const proto::FindCloseRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::FindCloseReply&, Extra) { return "TRUE"; }

}  // namespace cek::kernel::handlers
