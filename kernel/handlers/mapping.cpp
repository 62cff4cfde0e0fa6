// Requests on file mappings and their views. Rules: docs/semantics/mappings.md.
#include <algorithm>
#include <span>
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

uint64_t join(uint32_t high, uint32_t low) { return (uint64_t{high} << 32) | low; }

uint32_t view_flags(const MapViewResult& v) {
    return (v.writable ? proto::kViewWritable : 0u) |
           (v.file_backed ? proto::kViewFileBacked : 0u) |
           (v.own_range ? proto::kViewOwnRange : 0u) | (v.reused ? proto::kViewReused : 0u) |
           (v.pages_own ? proto::kViewPagesOwn : 0u);
}

}  // namespace

size_t handle(Call& call, const proto::CreateMappingRequest& req, Extra extra) {
    std::optional<std::u16string> name;
    if (!extra.name(req.has_name != 0, req.name_chars, name)) return call.malformed();
    LastError le;
    auto r = call.kernel.create_mapping(call.caller, HandleValue{req.file}, req.protect,
                                        req.size_high, req.size_low, name ? &*name : nullptr, le);
    if (!r) return call.fail(r.error());
    return call.ok(proto::CreateMappingReply{r.value().raw, 0}, le);
}
std::string describe(const proto::CreateMappingRequest& req, Extra extra) {
    return "file=" + handle(req.file) + " protect=" + trace_text::protect(req.protect) +
           " size=" + to_string(join(req.size_high, req.size_low)) +
           " name=" + (req.has_name != 0 ? extra.quoted(req.name_chars) : "NULL");
}
std::string describe(const proto::CreateMappingReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::MapViewRequest& req, Extra extra) {
    if (req.lingering > proto::kMaxLingeringRanges) return call.malformed();
    proto::LingeringRange lingering[proto::kMaxLingeringRanges]{};
    for (uint32_t i = 0; i < req.lingering; ++i)
        if (!extra.take(lingering[i])) return call.malformed();
    const std::span<const proto::LingeringRange> held(lingering, req.lingering);
    // CE 6's file views may take a lingering range of their own back.
    HeldRange own[proto::kMaxLingeringRanges]{};
    size_t owned = 0;
    for (const auto& l : held)
        if ((l.flags & proto::kViewOwnRange) != 0)
            own[owned++] = {l.base, l.length, l.file_offset, l.object,
                            (l.flags & proto::kViewWritable) != 0};
    auto r = call.kernel.map_view(call.caller, HandleValue{req.mapping}, req.access,
                                  req.offset_high, req.offset_low, req.size,
                                  std::span<const HeldRange>(own, owned));
    if (!r) return call.fail(r.error());
    const MapViewResult& v = r.value();
    uint32_t flags = view_flags(v);
    if (v.revived) flags |= proto::kViewRevive;
    if (v.kernel_fd >= 0) {  // first view here: the client needs the descriptor...
        const bool revive =
            !v.own_range && std::any_of(held.begin(), held.end(), [&](const auto& l) {
                return l.base == v.map_base && l.length == v.map_length && l.dev == v.dev &&
                       l.ino == v.ino &&
                       (l.flags & proto::kRangeFlags) == (flags & proto::kRangeFlags);
            });
        if (revive)  // ...unless it still holds this very range
            flags |= proto::kViewRevive;
        else
            call.attach(v.kernel_fd, v.dev, v.ino, v.address);
    }
    if (v.pages_own && v.view_writes) flags |= proto::kViewWrites;  // after the revive match
    const proto::MapViewReply reply{v.address, v.map_base,  v.map_length,  v.object_id,
                                    v.dev,     v.ino,       v.kernel_fd,   flags,
                                    v.file_offset, v.view_length};
    if (v.reused) return call.ok(reply, LastError::to(Win32Error::ERROR_ALREADY_EXISTS));
    return call.ok(reply);
}
std::string describe(const proto::MapViewRequest& req, Extra) {
    return "mapping=" + handle(req.mapping) + " access=" + trace_text::map_access(req.access) +
           " offset=" + to_string(join(req.offset_high, req.offset_low)) +
           " size=" + to_string(req.size);
}
std::string describe(const proto::MapViewReply& rep, Extra) { return hex(rep.address); }

size_t handle(Call& call, const proto::UnmapViewRequest& req, Extra) {
    auto r = call.kernel.unmap_view(call.caller, req.address);
    if (!r) return call.fail(r.error());
    const UnmapResult& u = r.value();
    const uint32_t view_flags =
        u.view_length == 0 ? 0u
                           : proto::kViewPagesOwn | (u.view_writes ? proto::kViewWrites : 0u);
    return call.ok(proto::UnmapViewReply{u.release_base, u.release_length, u.flush_base,
                                         u.flush_length, u.forget_object, u.view_length,
                                         view_flags, 0});
}
std::string describe(const proto::UnmapViewRequest& req, Extra) {
    return "address=" + hex(req.address);
}
std::string describe(const proto::UnmapViewReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::WindowTouchRequest& req, Extra) {
    auto r = call.kernel.touch_window(call.caller, req.address);
    if (!r) return call.fail(r.error());
    const MapViewResult& v = r.value();
    // No undo view: a touch makes none, and a descriptor that cannot be sent fails the call.
    call.attach(v.kernel_fd, v.dev, v.ino);
    return call.ok(proto::WindowTouchReply{v.map_base, v.map_length, v.object_id, v.dev, v.ino,
                                           v.kernel_fd, view_flags(v)});
}
std::string describe(const proto::WindowTouchRequest& req, Extra) {
    return "address=" + hex(req.address);
}
std::string describe(const proto::WindowTouchReply& rep, Extra) {
    return "mapping=" + to_string(rep.object_id) + " base=" + hex(rep.map_base);
}

size_t handle(Call& call, const proto::FlushViewRequest& req, Extra) {
    auto r = call.kernel.flush_view(call.caller, req.address, req.size);
    if (!r) return call.fail_silently();  // not inside a mapping: FALSE, last error untouched
    if (!*r) return call.fail(r->error());
    return call.ok(proto::FlushViewReply{(*r)->base, (*r)->length});
}
std::string describe(const proto::FlushViewRequest& req, Extra) {
    return "address=" + hex(req.address) + " size=" + to_string(req.size);
}
std::string describe(const proto::FlushViewReply&, Extra) { return "TRUE"; }

}  // namespace cek::kernel::handlers
