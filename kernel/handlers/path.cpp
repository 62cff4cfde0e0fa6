// Requests that name a path instead of a handle: attributes, delete, directories, move and
// copy, GetFileAttributesExW, disk space. Rules: docs/semantics/files.md.
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

Result<uint32_t> path_op(Kernel& k, proto::PathOpCode op, const std::u16string& path,
                         uint32_t argument) {
    auto done = [](Result<void> r) -> Result<uint32_t> {
        if (!r) return r.error();
        return 0u;
    };
    switch (op) {
        case proto::PathOpCode::GetAttributes:
            return k.get_attributes(path);
        case proto::PathOpCode::SetAttributes:
            return done(k.set_attributes(path, argument));
        case proto::PathOpCode::Unlink:
            return done(k.delete_file(path));
        case proto::PathOpCode::MakeDirectory:
            return done(k.create_directory(path));
        case proto::PathOpCode::RemoveEmptyDirectory:
            return done(k.remove_directory(path));
    }
    return Win32Error::ERROR_INVALID_PARAMETER;
}

}  // namespace

size_t handle(Call& call, const proto::PathOpRequest& req, Extra extra) {
    std::u16string path;
    if (!extra.text(req.path_chars, path)) return call.malformed();
    auto r = path_op(call.kernel, static_cast<proto::PathOpCode>(req.op), path, req.argument);
    if (!r) return call.fail(r.error());
    return call.ok(proto::PathOpReply{r.value(), 0});
}
std::string describe(const proto::PathOpRequest& req, Extra extra) {
    static constexpr const char* kOps[] = {"?",      "get_attributes",   "set_attributes",
                                           "delete", "create_directory", "remove_directory"};
    std::string out =
        "op=" + trace_text::choice(req.op, kOps) + " path=" + extra.quoted(req.path_chars);
    if (req.op == static_cast<uint32_t>(proto::PathOpCode::SetAttributes))
        out += " attributes=" + hex(req.argument);
    return out;
}
std::string describe(const proto::PathOpReply& rep, Extra) {
    return rep.value != 0 ? hex(rep.value) : "TRUE";
}

size_t handle(Call& call, const proto::MovePathRequest& req, Extra extra) {
    std::u16string from, to;
    if (!extra.text(req.from_chars, from) || !extra.text(req.to_chars, to)) return call.malformed();
    if (req.copy == 0) return call.answer(call.kernel.move_file(from, to), proto::MovePathReply{});
    auto copied = call.kernel.copy_file(call.caller, from, to, req.fail_if_exists != 0, call.tag);
    if (!copied) return Call::pending();  // a large copy: answered when it is done
    return call.answer(*copied, proto::MovePathReply{});
}
std::string describe(const proto::MovePathRequest& req, Extra extra) {
    std::string from = extra.quoted(req.from_chars);
    std::string to = extra.quoted(req.to_chars);
    return std::string(req.copy != 0 ? "copy" : "move") + " from=" + from + " to=" + to +
           (req.copy != 0 && req.fail_if_exists != 0 ? " fail_if_exists" : "");
}
std::string describe(const proto::MovePathReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::PathInfoRequest& req, Extra extra) {
    std::u16string path;
    if (!extra.text(req.path_chars, path)) return call.malformed();
    auto r = call.kernel.path_info(path);
    if (!r) return call.fail(r.error());
    const auto& i = r.value();
    return call.ok(proto::PathInfoReply{i.attributes, 0, i.size, i.times.creation,
                                        i.times.last_access, i.times.last_write});
}
std::string describe(const proto::PathInfoRequest& req, Extra extra) {
    return "path=" + extra.quoted(req.path_chars);
}
std::string describe(const proto::PathInfoReply& rep, Extra) {
    return "attributes=" + hex(rep.attributes) + " size=" + to_string(rep.size);
}

size_t handle(Call& call, const proto::DiskSpaceRequest& req, Extra extra) {
    std::u16string path;
    if (!extra.text(req.path_chars, path)) return call.malformed();
    auto r = call.kernel.disk_space(path);
    if (!r) return call.fail(r.error());
    return call.ok(proto::DiskSpaceReply{r->free_to_caller, r->total, r->total_free});
}
std::string describe(const proto::DiskSpaceRequest& req, Extra extra) {
    return "directory=" + extra.quoted(req.path_chars);
}
std::string describe(const proto::DiskSpaceReply& rep, Extra) {
    return "free=" + to_string(rep.free_to_caller) + " total=" + to_string(rep.total);
}

}  // namespace cek::kernel::handlers
