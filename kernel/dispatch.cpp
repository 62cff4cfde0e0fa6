#include "kernel/dispatch.h"

#include <time.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>

#include "fsys/path.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "protocol/ce_constants.h"
#include "protocol/channel.h"
#include "protocol/futex.h"
#include "protocol/messages.h"

namespace cek::kernel {

namespace {

using proto::ReplyHeader;
using proto::RequestCode;
using proto::RequestHeader;

// Builds one reply in the caller's buffer.
class ReplyWriter {
public:
    explicit ReplyWriter(std::span<std::byte> out) : out_(out) {}

    template <class Reply>
    size_t ok(const Reply& body, LastError le = LastError::keep(),
              std::span<const std::byte> data = {}) {
        return finish(false, le, &body, sizeof body, data);
    }
    size_t fail(Win32Error e) { return finish(true, LastError::to(e), nullptr, 0, {}); }
    size_t fail_silently() { return finish(true, LastError::keep(), nullptr, 0, {}); }

private:
    size_t finish(bool failed, LastError le, const void* body, size_t body_size,
                  std::span<const std::byte> data) {
        if (sizeof(ReplyHeader) + body_size + data.size() > out_.size()) {
            // Every handler sizes its data to the reply area; reaching this is a kernel bug.
            log::ipc()->error("reply of {} bytes does not fit the slot",
                              sizeof(ReplyHeader) + body_size + data.size());
            return finish(true, LastError::to(Win32Error::ERROR_INSUFFICIENT_BUFFER), nullptr, 0, {});
        }
        ReplyHeader h{};
        h.size = static_cast<uint32_t>(sizeof h + body_size + data.size());
        h.error = static_cast<uint32_t>(le.code);
        h.failed = failed ? 1 : 0;
        h.set_error = le.set ? 1 : 0;
        std::memcpy(out_.data(), &h, sizeof h);
        if (body_size != 0) std::memcpy(out_.data() + sizeof h, body, body_size);
        if (!data.empty()) std::memcpy(out_.data() + sizeof h + body_size, data.data(), data.size());
        return h.size;
    }
    std::span<std::byte> out_;
};

// Who is calling, beyond the process: the thread (mutex ownership) and the transport's tag for
// a reply that may be left pending (waits).
struct CallInfo {
    uint32_t thread_id;
    uint64_t tag;
};

// The body of a request: the fixed struct, then `extra` bytes of variable data.
template <class Request>
bool read_body(std::span<const std::byte> body, Request& out, std::span<const std::byte>& extra) {
    if (body.size() < sizeof(Request)) return false;
    std::memcpy(&out, body.data(), sizeof(Request));
    extra = body.subspan(sizeof(Request));
    return true;
}

size_t handle_null(Kernel&, ProcessId, std::span<const std::byte> body, ReplyWriter& w,
                   const CallInfo&) {
    proto::NullRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    return w.ok(proto::NullReply{req.cookie});
}

size_t handle_close(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                    ReplyWriter& w, const CallInfo&) {
    proto::CloseHandleRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.close_handle(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    return w.ok(proto::CloseHandleReply{});
}

size_t handle_create_mapping(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                             ReplyWriter& w, const CallInfo&) {
    proto::CreateMappingRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    std::u16string name;
    if (req.has_name != 0) {
        // Bounded by what was actually sent, in 64-bit arithmetic.
        if (uint64_t{req.name_chars} * sizeof(char16_t) > extra.size())
            return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
        name.resize(req.name_chars);
        std::memcpy(name.data(), extra.data(), size_t{req.name_chars} * sizeof(char16_t));
    }
    LastError le;
    auto r = k.create_mapping(caller, HandleValue{req.file}, req.protect, req.size_high,
                              req.size_low, req.has_name != 0 ? &name : nullptr, le);
    if (!r) return w.fail(r.error());
    return w.ok(proto::CreateMappingReply{r.value().raw, 0}, le);
}

size_t handle_map_view(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                       ReplyWriter& w, const CallInfo&) {
    proto::MapViewRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.map_view(caller, HandleValue{req.mapping}, req.access, req.offset_high,
                        req.offset_low, req.size);
    if (!r) return w.fail(r.error());
    const MapViewResult& v = r.value();
    proto::MapViewReply rep{};
    rep.address = v.address;
    rep.map_base = v.map_base;
    rep.map_length = v.map_length;
    rep.object_id = v.object_id;
    rep.dev = v.dev;
    rep.ino = v.ino;
    rep.kernel_fd = v.kernel_fd;
    rep.flags = (v.writable ? proto::kViewWritable : 0u) | (v.file_backed ? proto::kViewFileBacked : 0u);
    return w.ok(rep);
}

size_t handle_unmap_view(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                         ReplyWriter& w, const CallInfo&) {
    proto::UnmapViewRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.unmap_view(caller, req.address);
    if (!r) return w.fail(r.error());
    return w.ok(proto::UnmapViewReply{r.value().release_base, r.value().release_length});
}

size_t handle_flush_view(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                         ReplyWriter& w, const CallInfo&) {
    proto::FlushViewRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.flush_view(caller, req.address, req.size);
    if (!r) return w.fail_silently();  // CE 5: not a mapping, FALSE with the error untouched
    if (!*r) return w.fail(r->error());
    return w.ok(proto::FlushViewReply{});
}

size_t handle_snapshot(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                       ReplyWriter& w, const CallInfo&) {
    proto::SnapshotRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    proto::ByteWriter bytes;
    proto::encode(bytes, k.snapshot());
    uint64_t total = bytes.bytes().size();
    k.store_snapshot(caller, std::move(bytes.bytes()));
    return w.ok(proto::SnapshotReply{total});
}

size_t handle_snapshot_read(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                            ReplyWriter& w, const CallInfo&) {
    proto::SnapshotReadRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    const std::vector<std::byte>* snap = k.stored_snapshot(caller);
    if (snap == nullptr || req.offset > snap->size())
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    constexpr size_t kRoom =
        proto::kReplyBytes - sizeof(ReplyHeader) - sizeof(proto::SnapshotReadReply);
    size_t chunk = std::min<size_t>(kRoom, snap->size() - req.offset);
    proto::SnapshotReadReply rep{snap->size(), static_cast<uint32_t>(chunk), 0};
    return w.ok(rep, LastError::keep(), std::span(snap->data() + req.offset, chunk));
}

// `chars` UTF-16 units from the front of `extra`, bounded by what was sent; false if short.
bool read_u16(std::span<const std::byte>& extra, uint32_t chars, std::u16string& out) {
    if (uint64_t{chars} * sizeof(char16_t) > extra.size()) return false;
    out.resize(chars);
    std::memcpy(out.data(), extra.data(), size_t{chars} * sizeof(char16_t));
    extra = extra.subspan(size_t{chars} * sizeof(char16_t));
    return true;
}

size_t handle_create_file(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                          ReplyWriter& w, const CallInfo&) {
    proto::CreateFileRequest req{};
    std::span<const std::byte> extra;
    CreateFileArgs args;
    if (!read_body(body, req, extra) || !read_u16(extra, req.path_chars, args.path))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    args.access = req.access;
    args.share = req.share;
    args.disposition = req.disposition;
    args.flags_and_attributes = req.flags_and_attributes;
    args.for_mapping = req.for_mapping != 0;
    LastError le;
    auto r = k.create_file(caller, args, le);
    if (!r) return w.fail(r.error());
    return w.ok(proto::CreateFileReply{r.value().raw, 0}, le);
}

size_t handle_file_descriptor(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                              ReplyWriter& w, const CallInfo&) {
    proto::FileDescriptorRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.file_descriptor(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    const auto& d = r.value();
    return w.ok(proto::FileDescriptorReply{d.fd, d.access.read, d.access.write, d.kernel_owned,
                                           d.directory, 0, d.dev, d.ino});
}

size_t handle_set_end_of_file(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                              ReplyWriter& w, const CallInfo&) {
    proto::SetEndOfFileRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.set_end_of_file(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    return w.ok(proto::SetEndOfFileReply{r.value()});
}

size_t handle_file_info(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                        ReplyWriter& w, const CallInfo&) {
    proto::FileInfoRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.file_info(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    const auto& i = r.value();
    return w.ok(proto::FileInfoReply{i.attributes, static_cast<uint32_t>(i.links), i.size,
                                     i.times.creation, i.times.last_access, i.times.last_write,
                                     i.id.dev, i.id.ino});
}

size_t handle_set_file_time(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                            ReplyWriter& w, const CallInfo&) {
    proto::SetFileTimeRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto pick = [&](uint32_t bit, uint64_t v) {
        return (req.which & bit) != 0 ? std::optional<uint64_t>(v) : std::nullopt;
    };
    auto r = k.set_file_time(caller, HandleValue{req.handle}, pick(1, req.creation),
                             pick(2, req.last_access), pick(4, req.last_write));
    if (!r) return w.fail(r.error());
    return w.ok(proto::SetFileTimeReply{});
}

size_t handle_path_op(Kernel& k, ProcessId, std::span<const std::byte> body, ReplyWriter& w,
                      const CallInfo&) {
    proto::PathOpRequest req{};
    std::span<const std::byte> extra;
    std::u16string path;
    if (!read_body(body, req, extra) || !read_u16(extra, req.path_chars, path))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    Result<void> r;
    uint32_t value = 0;
    switch (static_cast<proto::PathOpCode>(req.op)) {
    case proto::PathOpCode::GetAttributes: {
        auto a = k.get_attributes(path);
        if (!a) return w.fail(a.error());
        value = a.value();
        break;
    }
    case proto::PathOpCode::SetAttributes:
        r = k.set_attributes(path, req.argument);
        break;
    case proto::PathOpCode::Unlink:
        r = k.delete_file(path);
        break;
    case proto::PathOpCode::MakeDirectory:
        r = k.create_directory(path);
        break;
    case proto::PathOpCode::RemoveEmptyDirectory:
        r = k.remove_directory(path);
        break;
    default:
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    }
    if (!r) return w.fail(r.error());
    return w.ok(proto::PathOpReply{value, 0});
}

size_t handle_move_path(Kernel& k, ProcessId, std::span<const std::byte> body, ReplyWriter& w,
                        const CallInfo&) {
    proto::MovePathRequest req{};
    std::span<const std::byte> extra;
    std::u16string from, to;
    if (!read_body(body, req, extra) || !read_u16(extra, req.from_chars, from) ||
        !read_u16(extra, req.to_chars, to))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = req.copy != 0 ? k.copy_file(from, to, req.fail_if_exists != 0) : k.move_file(from, to);
    if (!r) return w.fail(r.error());
    return w.ok(proto::MovePathReply{});
}

// A directory entry and its name after the reply struct; names longer than the room fail.
proto::FindEntryWire entry_wire(const fsys::FindEntry& e) {
    return proto::FindEntryWire{e.attributes,        static_cast<uint32_t>(e.name.size()),
                                e.size,              e.times.creation,
                                e.times.last_access, e.times.last_write,
                                0};
}

size_t handle_find_first(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                         ReplyWriter& w, const CallInfo&) {
    proto::FindFirstRequest req{};
    std::span<const std::byte> extra;
    std::u16string pattern;
    if (!read_body(body, req, extra) || !read_u16(extra, req.path_chars, pattern))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    fsys::FindEntry first;
    auto r = k.find_first(caller, pattern, first);
    if (!r) return w.fail(r.error());
    proto::FindFirstReply rep{r.value().raw, 0, entry_wire(first)};
    return w.ok(rep, LastError::keep(), std::as_bytes(std::span(first.name)));
}

size_t handle_find_next(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                        ReplyWriter& w, const CallInfo&) {
    proto::FindNextRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.find_next(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    proto::FindNextReply rep{entry_wire(r.value())};
    return w.ok(rep, LastError::keep(), std::as_bytes(std::span(r.value().name)));
}

size_t handle_find_close(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                         ReplyWriter& w, const CallInfo&) {
    proto::FindCloseRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.find_close(caller, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    return w.ok(proto::FindCloseReply{});
}

size_t handle_trace_read(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                         ReplyWriter& w, const CallInfo&) {
    proto::TraceReadRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    // Packed straight into a buffer the size of the reply's data area.
    static std::array<std::byte, proto::kReplyBytes - sizeof(ReplyHeader) -
                                     sizeof(proto::TraceReadReply)>
        records;
    proto::TraceReadReply rep{};
    size_t used = k.trace_read(caller, req.cursor, records, rep);
    return w.ok(rep, LastError::keep(), std::span<const std::byte>(records.data(), used));
}

// A name after a request struct: `has_name`/`chars` as sent, bounded by what was sent.
bool read_name(std::span<const std::byte>& extra, bool has_name, uint32_t chars,
               std::optional<std::u16string>& out) {
    if (!has_name) return true;
    std::u16string name;
    if (!read_u16(extra, chars, name)) return false;
    out = std::move(name);
    return true;
}

size_t handle_sync_create(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                          ReplyWriter& w, const CallInfo& call) {
    proto::SyncCreateRequest req{};
    std::span<const std::byte> extra;
    std::optional<std::u16string> name;
    if (!read_body(body, req, extra) || !read_name(extra, req.has_name != 0, req.name_chars, name))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    const std::u16string* n = name ? &*name : nullptr;
    LastError le;
    Result<HandleValue> r = Win32Error::ERROR_INVALID_PARAMETER;
    switch (static_cast<proto::SyncKind>(req.kind)) {
    case proto::SyncKind::Event:
        r = k.create_event(caller, (req.flags & proto::kEventManualReset) != 0,
                           (req.flags & proto::kEventInitialState) != 0, n, le);
        break;
    case proto::SyncKind::Mutex:
        r = k.create_mutex(ThreadRef{caller, call.thread_id},
                           (req.flags & proto::kMutexInitialOwner) != 0, n, le);
        break;
    case proto::SyncKind::Semaphore:
        r = k.create_semaphore(caller, req.initial, req.maximum, n, le);
        break;
    }
    if (!r) return w.fail(r.error());
    return w.ok(proto::SyncCreateReply{r.value().raw, 0}, le);
}

std::optional<ObjectType> sync_type(uint32_t kind) {
    switch (static_cast<proto::SyncKind>(kind)) {
    case proto::SyncKind::Event:
        return ObjectType::Event;
    case proto::SyncKind::Mutex:
        return ObjectType::Mutex;
    case proto::SyncKind::Semaphore:
        return ObjectType::Semaphore;
    }
    return std::nullopt;
}

size_t handle_sync_open(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                        ReplyWriter& w, const CallInfo&) {
    proto::SyncOpenRequest req{};
    std::span<const std::byte> extra;
    std::u16string name;
    if (!read_body(body, req, extra) || !read_u16(extra, req.name_chars, name))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto type = sync_type(req.kind);
    if (!type || req.inherit != 0) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.open_sync(caller, *type, name);
    if (!r) return w.fail(r.error());
    return w.ok(proto::SyncOpenReply{r.value().raw, 0});
}

size_t handle_event_set(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                        ReplyWriter& w, const CallInfo&) {
    proto::EventSetRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.set_event(caller, HandleValue{req.handle}, static_cast<proto::EventOp>(req.op));
    if (!r) return w.fail(r.error());
    return w.ok(proto::EventSetReply{});
}

size_t handle_mutex_release(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                            ReplyWriter& w, const CallInfo& call) {
    proto::MutexReleaseRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.release_mutex(ThreadRef{caller, call.thread_id}, HandleValue{req.handle});
    if (!r) return w.fail(r.error());
    return w.ok(proto::MutexReleaseReply{});
}

size_t handle_semaphore_release(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                                ReplyWriter& w, const CallInfo&) {
    proto::SemaphoreReleaseRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.release_semaphore(caller, HandleValue{req.handle}, req.count);
    if (!r) return w.fail(r.error());
    return w.ok(proto::SemaphoreReleaseReply{r.value(), 0});
}

size_t handle_wait_objects(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                           ReplyWriter& w, const CallInfo& call) {
    proto::WaitObjectsRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    if (req.count == 0 || req.count > proto::kMaxWaitObjects ||
        uint64_t{req.count} * sizeof(uint32_t) > extra.size())
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    std::array<HandleValue, proto::kMaxWaitObjects> handles{};
    for (uint32_t i = 0; i < req.count; ++i)
        std::memcpy(&handles[i].raw, extra.data() + size_t{i} * sizeof(uint32_t), sizeof(uint32_t));
    auto r = k.wait(ThreadRef{caller, call.thread_id}, std::span(handles.data(), req.count),
                    req.wait_all != 0, req.timeout_ms, call.tag);
    if (!r) return 0;  // pending: the reply comes with the completion
    if (!*r) return w.fail(r->error());
    return w.ok(proto::WaitObjectsReply{r->value(), 0});
}

size_t handle_duplicate(Kernel& k, ProcessId caller, std::span<const std::byte> body,
                        ReplyWriter& w, const CallInfo&) {
    proto::DuplicateRequest req{};
    std::span<const std::byte> extra;
    if (!read_body(body, req, extra)) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.duplicate_handle(caller, req.source_process, HandleValue{req.handle},
                                req.target_process, req.options, req.inherit != 0);
    if (!r) return w.fail(r.error());
    return w.ok(proto::DuplicateReply{r.value().raw, 0});
}

// Misc coredll API (issue 7).
size_t handle_path_info(Kernel& k, ProcessId, std::span<const std::byte> body, ReplyWriter& w,
                        const CallInfo&) {
    proto::PathInfoRequest req{};
    std::span<const std::byte> extra;
    std::u16string path;
    if (!read_body(body, req, extra) || !read_u16(extra, req.path_chars, path))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.path_info(path);
    if (!r) return w.fail(r.error());
    const auto& i = r.value();
    return w.ok(proto::PathInfoReply{i.attributes, 0, i.size, i.times.creation,
                                     i.times.last_access, i.times.last_write});
}

size_t handle_disk_space(Kernel& k, ProcessId, std::span<const std::byte> body, ReplyWriter& w,
                         const CallInfo&) {
    proto::DiskSpaceRequest req{};
    std::span<const std::byte> extra;
    std::u16string path;
    if (!read_body(body, req, extra) || !read_u16(extra, req.path_chars, path))
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = k.disk_space(path);
    if (!r) return w.fail(r.error());
    return w.ok(r.value());
}

using Handler = size_t (*)(Kernel&, ProcessId, std::span<const std::byte>, ReplyWriter&,
                          const CallInfo&);

constexpr Handler kHandlers[] = {
    handle_null,     handle_close,      handle_create_mapping, handle_map_view,
    handle_unmap_view, handle_flush_view, handle_snapshot,       handle_snapshot_read,
    handle_create_file, handle_file_descriptor, handle_set_end_of_file, handle_file_info,
    handle_set_file_time, handle_path_op, handle_move_path, handle_find_first, handle_find_next,
    handle_find_close, handle_trace_read, handle_path_info, handle_disk_space,
    handle_sync_create, handle_sync_open, handle_event_set, handle_mutex_release,
    handle_semaphore_release, handle_wait_objects, handle_duplicate,
};
static_assert(std::size(kHandlers) == static_cast<size_t>(RequestCode::Count),
              "one handler per request in requests.def, in order");
static_assert(kHandlers[static_cast<size_t>(RequestCode::PathInfo)] == handle_path_info &&
                  kHandlers[static_cast<size_t>(RequestCode::DiskSpace)] == handle_disk_space,
              "misc handlers at their requests.def positions");

// ---- Trace decoding: a readable line per request, built only while someone traces. ----

std::string bounded(std::string s) {
    constexpr size_t kMax = 600;  // two MAX_PATH names fit; the wire record stays small
    if (s.size() > kMax) {
        s.resize(kMax - 3);
        s += "...";
    }
    return s;
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string handle_text(uint32_t h) {
    return h == ce::kInvalidHandle ? "INVALID_HANDLE_VALUE" : hex(h);
}

// `value`'s bits as NAME|NAME, with any unnamed rest in hex; "0" when none.
std::string flags_text(uint32_t value,
                       std::initializer_list<std::pair<uint32_t, const char*>> names) {
    std::string out;
    for (const auto& [bit, name] : names) {
        if (bit != 0 && (value & bit) == bit) {
            out += (out.empty() ? "" : "|") + std::string(name);
            value &= ~bit;
        }
    }
    if (value != 0 || out.empty()) out += (out.empty() ? "" : "|") + hex(value);
    return out;
}

std::string quoted_name(std::span<const std::byte>& extra, uint32_t chars) {
    std::u16string name;
    if (!read_u16(extra, chars, name)) return "<truncated>";
    auto text = fsys::to_utf8(name);
    return "\"" + (text ? *text : std::string("<invalid UTF-16>")) + "\"";
}

std::string protect_text(uint32_t p) {
    return flags_text(p, {{ce::kPageReadWrite, "PAGE_READWRITE"},
                          {ce::kPageReadOnly, "PAGE_READONLY"},
                          {ce::kSecCommit, "SEC_COMMIT"}});
}

std::string map_access_text(uint32_t a) {
    if (a == ce::kFileMapAllAccess) return "FILE_MAP_ALL_ACCESS";
    return flags_text(a, {{ce::kFileMapRead, "FILE_MAP_READ"},
                          {ce::kFileMapWrite, "FILE_MAP_WRITE"},
                          {ce::kFileMapCopy, "FILE_MAP_COPY"}});
}

std::string file_access_text(uint32_t a) {
    return flags_text(a, {{ce::kGenericRead, "GENERIC_READ"},
                          {ce::kGenericWrite, "GENERIC_WRITE"},
                          {ce::kGenericAll, "GENERIC_ALL"}});
}

std::string share_text(uint32_t s) {
    return flags_text(s, {{ce::kFileShareRead, "FILE_SHARE_READ"},
                          {ce::kFileShareWrite, "FILE_SHARE_WRITE"},
                          {ce::kFileShareWriteOverride, "FILE_SHARE_WRITE_OVERRIDE"}});
}

std::string disposition_text(uint32_t d) {
    static constexpr const char* kNames[] = {"0", "CREATE_NEW", "CREATE_ALWAYS", "OPEN_EXISTING",
                                             "OPEN_ALWAYS", "TRUNCATE_EXISTING"};
    return d < std::size(kNames) ? kNames[d] : std::to_string(d);
}

template <class T>
bool take(std::span<const std::byte>& body, T& out) {
    if (body.size() < sizeof(T)) return false;
    std::memcpy(&out, body.data(), sizeof(T));
    body = body.subspan(sizeof(T));
    return true;
}

std::string describe_request(RequestCode code, std::span<const std::byte> body) {
    using std::to_string;
    auto bad = [] { return std::string("<short request>"); };
    switch (code) {
    case RequestCode::Null: {
        proto::NullRequest r;
        return take(body, r) ? "cookie=" + hex(r.cookie) : bad();
    }
    case RequestCode::CloseHandle: {
        proto::CloseHandleRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::CreateMapping: {
        proto::CreateMappingRequest r;
        if (!take(body, r)) return bad();
        return "file=" + handle_text(r.file) + " protect=" + protect_text(r.protect) +
               " size=" + to_string((uint64_t{r.size_high} << 32) | r.size_low) +
               " name=" + (r.has_name != 0 ? quoted_name(body, r.name_chars) : "NULL");
    }
    case RequestCode::MapView: {
        proto::MapViewRequest r;
        if (!take(body, r)) return bad();
        return "mapping=" + handle_text(r.mapping) + " access=" + map_access_text(r.access) +
               " offset=" + to_string((uint64_t{r.offset_high} << 32) | r.offset_low) +
               " size=" + to_string(r.size);
    }
    case RequestCode::UnmapView: {
        proto::UnmapViewRequest r;
        return take(body, r) ? "address=" + hex(r.address) : bad();
    }
    case RequestCode::FlushView: {
        proto::FlushViewRequest r;
        return take(body, r) ? "address=" + hex(r.address) + " size=" + to_string(r.size) : bad();
    }
    case RequestCode::Snapshot:
        return "";
    case RequestCode::SnapshotRead: {
        proto::SnapshotReadRequest r;
        return take(body, r) ? "offset=" + to_string(r.offset) : bad();
    }
    case RequestCode::CreateFile: {
        proto::CreateFileRequest r;
        if (!take(body, r)) return bad();
        return "path=" + quoted_name(body, r.path_chars) + " access=" +
               file_access_text(r.access) + " share=" + share_text(r.share) +
               " disposition=" + disposition_text(r.disposition) +
               " flags=" + hex(r.flags_and_attributes) + (r.for_mapping != 0 ? " for_mapping" : "");
    }
    case RequestCode::FileDescriptor: {
        proto::FileDescriptorRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::SetEndOfFile: {
        proto::SetEndOfFileRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::FileInfo: {
        proto::FileInfoRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::SetFileTime: {
        proto::SetFileTimeRequest r;
        if (!take(body, r)) return bad();
        return "handle=" + handle_text(r.handle) +
               " set=" + flags_text(r.which, {{1, "creation"}, {2, "access"}, {4, "write"}});
    }
    case RequestCode::PathOp: {
        proto::PathOpRequest r;
        if (!take(body, r)) return bad();
        static constexpr const char* kOps[] = {"?", "get_attributes", "set_attributes",
                                               "delete", "create_directory",
                                               "remove_directory"};
        std::string op = r.op < std::size(kOps) ? kOps[r.op] : to_string(r.op);
        std::string out = "op=" + op + " path=" + quoted_name(body, r.path_chars);
        if (r.op == static_cast<uint32_t>(proto::PathOpCode::SetAttributes))
            out += " attributes=" + hex(r.argument);
        return out;
    }
    case RequestCode::MovePath: {
        proto::MovePathRequest r;
        if (!take(body, r)) return bad();
        std::string from = quoted_name(body, r.from_chars);
        std::string to = quoted_name(body, r.to_chars);
        return std::string(r.copy != 0 ? "copy" : "move") + " from=" + from + " to=" + to +
               (r.copy != 0 && r.fail_if_exists != 0 ? " fail_if_exists" : "");
    }
    case RequestCode::FindFirst: {
        proto::FindFirstRequest r;
        return take(body, r) ? "pattern=" + quoted_name(body, r.path_chars) : bad();
    }
    case RequestCode::FindNext: {
        proto::FindNextRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::FindClose: {
        proto::FindCloseRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::TraceRead: {
        proto::TraceReadRequest r;
        return take(body, r) ? "cursor=" + to_string(r.cursor) : bad();
    }
    case RequestCode::SyncCreate: {
        proto::SyncCreateRequest r;
        if (!take(body, r)) return bad();
        static constexpr const char* kKinds[] = {"?", "event", "mutex", "semaphore"};
        std::string out = r.kind < std::size(kKinds) ? kKinds[r.kind] : to_string(r.kind);
        switch (static_cast<proto::SyncKind>(r.kind)) {
        case proto::SyncKind::Event:
            out += (r.flags & proto::kEventManualReset) != 0 ? " manual" : " auto";
            out += (r.flags & proto::kEventInitialState) != 0 ? " signaled" : " nonsignaled";
            break;
        case proto::SyncKind::Mutex:
            out += (r.flags & proto::kMutexInitialOwner) != 0 ? " owned" : "";
            break;
        case proto::SyncKind::Semaphore:
            out += " initial=" + to_string(r.initial) + " maximum=" + to_string(r.maximum);
            break;
        }
        return out + " name=" + (r.has_name != 0 ? quoted_name(body, r.name_chars) : "NULL");
    }
    case RequestCode::SyncOpen: {
        proto::SyncOpenRequest r;
        if (!take(body, r)) return bad();
        return "kind=" + to_string(r.kind) + " name=" + quoted_name(body, r.name_chars);
    }
    case RequestCode::EventSet: {
        proto::EventSetRequest r;
        if (!take(body, r)) return bad();
        static constexpr const char* kOps[] = {"?", "set", "reset", "pulse"};
        return "handle=" + handle_text(r.handle) +
               " op=" + (r.op < std::size(kOps) ? kOps[r.op] : to_string(r.op));
    }
    case RequestCode::MutexRelease: {
        proto::MutexReleaseRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) : bad();
    }
    case RequestCode::SemaphoreRelease: {
        proto::SemaphoreReleaseRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) + " count=" + to_string(r.count)
                             : bad();
    }
    case RequestCode::WaitObjects: {
        proto::WaitObjectsRequest r;
        if (!take(body, r)) return bad();
        std::string out = "handles=";
        for (uint32_t i = 0; i < r.count && i < proto::kMaxWaitObjects; ++i) {
            uint32_t h = 0;
            if (!take(body, h)) return out + "<truncated>";
            out += (i != 0 ? "," : "") + handle_text(h);
        }
        out += r.wait_all != 0 ? " all" : " any";
        out += " timeout=" + (r.timeout_ms == proto::kWaitInfinite ? std::string("INFINITE")
                                                                  : to_string(r.timeout_ms));
        return out;
    }
    case RequestCode::Duplicate: {
        proto::DuplicateRequest r;
        return take(body, r) ? "handle=" + handle_text(r.handle) + " options=" + hex(r.options)
                             : bad();
    }
    case RequestCode::PathInfo: {
        proto::PathInfoRequest r;
        return take(body, r) ? "path=" + quoted_name(body, r.path_chars) : bad();
    }
    case RequestCode::DiskSpace: {
        proto::DiskSpaceRequest r;
        return take(body, r) ? "directory=" + quoted_name(body, r.path_chars) : bad();
    }
    case RequestCode::Count:
        break;
    }
    return "";
}

// What a successful call returned, from the reply body (after the header).
std::string describe_reply(RequestCode code, std::span<const std::byte> body) {
    using std::to_string;
    switch (code) {
    case RequestCode::CreateMapping: {
        proto::CreateMappingReply r;
        return take(body, r) ? handle_text(r.handle) : "";
    }
    case RequestCode::CreateFile: {
        proto::CreateFileReply r;
        return take(body, r) ? handle_text(r.handle) : "";
    }
    case RequestCode::MapView: {
        proto::MapViewReply r;
        return take(body, r) ? hex(r.address) : "";
    }
    case RequestCode::FindFirst: {
        proto::FindFirstReply r;
        if (!take(body, r)) return "";
        return handle_text(r.handle) + " " + quoted_name(body, r.entry.name_chars);
    }
    case RequestCode::FindNext: {
        proto::FindNextReply r;
        return take(body, r) ? quoted_name(body, r.entry.name_chars) : "";
    }
    case RequestCode::SetEndOfFile: {
        proto::SetEndOfFileReply r;
        return take(body, r) ? "size=" + to_string(r.size) : "";
    }
    case RequestCode::FileInfo: {
        proto::FileInfoReply r;
        return take(body, r) ? "attributes=" + hex(r.attributes) + " size=" + to_string(r.size)
                             : "";
    }
    case RequestCode::PathOp: {
        proto::PathOpReply r;
        return take(body, r) && r.value != 0 ? hex(r.value) : "TRUE";
    }
    case RequestCode::Snapshot: {
        proto::SnapshotReply r;
        return take(body, r) ? to_string(r.total_bytes) + " bytes" : "";
    }
    case RequestCode::FileDescriptor: {
        proto::FileDescriptorReply r;
        return take(body, r) ? "fd=" + to_string(r.kernel_fd) : "";
    }
    case RequestCode::SyncCreate:
    case RequestCode::SyncOpen:
    case RequestCode::Duplicate: {
        uint32_t handle = 0;  // the first field of each reply
        return take(body, handle) ? handle_text(handle) : "";
    }
    case RequestCode::SemaphoreRelease: {
        proto::SemaphoreReleaseReply r;
        return take(body, r) ? "previous=" + to_string(r.previous) : "";
    }
    case RequestCode::WaitObjects: {
        proto::WaitObjectsReply r;
        return take(body, r) ? hex(r.result) : "";
    }
    default:
        return "TRUE";
    }
}


size_t dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                std::span<std::byte> reply, uint64_t tag) {
    ReplyWriter w(reply);
    RequestHeader h{};
    if (request.size() < sizeof h) return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    std::memcpy(&h, request.data(), sizeof h);
    if (h.size < sizeof h || h.size > request.size() ||
        h.code >= static_cast<uint32_t>(RequestCode::Count)) {
        log::ipc()->debug("malformed request code={} size={}", h.code, h.size);
        return w.fail(Win32Error::ERROR_INVALID_PARAMETER);
    }
    auto code = static_cast<RequestCode>(h.code);
    auto body = request.subspan(sizeof h, h.size - sizeof h);
    size_t n = kHandlers[h.code](kernel, caller, body, w, CallInfo{h.thread_id, tag});
    if (n == 0) {
        log::trace()->trace("process={} tid={} {} -> pending", caller.raw, h.thread_id,
                            proto::request_name(code));
    } else if (log::trace()->should_log(spdlog::level::trace)) {
        ReplyHeader rh{};
        std::memcpy(&rh, reply.data(), sizeof rh);
        log::trace()->trace("process={} tid={} {} -> {}{}({})", caller.raw, h.thread_id,
                            proto::request_name(code), rh.failed ? "FAILED " : "",
                            error_name(static_cast<Win32Error>(rh.error)), rh.error);
    }
    return n;
}

// The same call, recorded in the kernel's trace ring with decoded arguments and result. Only
// taken while a tracer is attached; the request is the kernel's private copy.
size_t dispatch_traced(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                       std::span<std::byte> reply, uint64_t tag) {
    const uint64_t start_mono = proto::monotonic_ns();
    const uint64_t start_real = proto::realtime_ns();
    size_t n = dispatch(kernel, caller, request, reply, tag);
    const uint64_t duration = proto::monotonic_ns() - start_mono;
    RequestHeader h{};
    if (request.size() < sizeof h) return n;
    std::memcpy(&h, request.data(), sizeof h);
    // The tracers' own polling would drown everything else.
    if (h.code == static_cast<uint32_t>(RequestCode::TraceRead)) return n;
    Kernel::TraceEntry e;
    e.record.time_ns = start_real;
    e.record.duration_ns = duration;
    e.record.process_id = caller.raw;
    e.record.thread_id = h.thread_id;
    e.record.code = h.code;
    ReplyHeader rh{};
    if (n != 0) std::memcpy(&rh, reply.data(), sizeof rh);
    e.record.error = rh.error;
    e.record.failed = rh.failed;
    e.record.set_error = rh.set_error;
    bool sane = h.size >= sizeof h && h.size <= request.size() &&
                h.code < static_cast<uint32_t>(RequestCode::Count);
    if (sane) {
        auto code = static_cast<RequestCode>(h.code);
        e.args = bounded(describe_request(code, request.subspan(sizeof h, h.size - sizeof h)));
        if (n == 0)
            e.result = "pending";
        else if (rh.failed == 0)
            e.result = bounded(describe_reply(code, std::span<const std::byte>(reply.data(), n)
                                                        .subspan(sizeof rh)));
    } else {
        e.args = "<malformed>";
    }
    kernel.trace_record(std::move(e));
    return n;
}

}  // namespace

size_t decode_and_dispatch(Kernel& kernel, ProcessId caller, std::span<const std::byte> request,
                           std::span<std::byte> reply, uint64_t tag) {
    // The one cost of tracing when nobody traces: this branch.
    if (kernel.tracing()) [[unlikely]]
        return dispatch_traced(kernel, caller, request, reply, tag);
    return dispatch(kernel, caller, request, reply, tag);
}

size_t encode_wait_completion(uint32_t result, std::span<std::byte> reply) {
    ReplyWriter w(reply);
    return w.ok(proto::WaitObjectsReply{result, 0});
}

}  // namespace cek::kernel
