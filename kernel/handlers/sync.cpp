// Requests on synchronization objects and waits. Rules: docs/semantics/sync.md.
#include <array>
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

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

Result<HandleValue> create(Call& call, const proto::SyncCreateRequest& req,
                           const std::u16string* name, LastError& le) {
    switch (static_cast<proto::SyncKind>(req.kind)) {
        case proto::SyncKind::Event:
            return call.kernel.create_event(call.caller,
                                            (req.flags & proto::kEventManualReset) != 0,
                                            (req.flags & proto::kEventInitialState) != 0, name, le);
        case proto::SyncKind::Mutex:
            return call.kernel.create_mutex(call.thread(),
                                            (req.flags & proto::kMutexInitialOwner) != 0, name, le);
        case proto::SyncKind::Semaphore:
            return call.kernel.create_semaphore(call.caller, req.initial, req.maximum, name, le);
    }
    return Win32Error::ERROR_INVALID_PARAMETER;
}

std::string kind_text(const proto::SyncCreateRequest& req) {
    static constexpr const char* kKinds[] = {"?", "event", "mutex", "semaphore"};
    std::string out = trace_text::choice(req.kind, kKinds);
    switch (static_cast<proto::SyncKind>(req.kind)) {
        case proto::SyncKind::Event:
            out += (req.flags & proto::kEventManualReset) != 0 ? " manual" : " auto";
            out += (req.flags & proto::kEventInitialState) != 0 ? " signaled" : " nonsignaled";
            break;
        case proto::SyncKind::Mutex:
            out += (req.flags & proto::kMutexInitialOwner) != 0 ? " owned" : "";
            break;
        case proto::SyncKind::Semaphore:
            out += " initial=" + to_string(req.initial) + " maximum=" + to_string(req.maximum);
            break;
    }
    return out;
}

}  // namespace

size_t handle(Call& call, const proto::SyncCreateRequest& req, Extra extra) {
    std::optional<std::u16string> name;
    if (!extra.name(req.has_name != 0, req.name_chars, name)) return call.malformed();
    LastError le;
    auto r = create(call, req, name ? &*name : nullptr, le);
    if (!r) return call.fail(r.error());
    return call.ok(proto::SyncCreateReply{r.value().raw, 0}, le);
}
std::string describe(const proto::SyncCreateRequest& req, Extra extra) {
    return kind_text(req) + " name=" + (req.has_name != 0 ? extra.quoted(req.name_chars) : "NULL");
}
std::string describe(const proto::SyncCreateReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::SyncOpenRequest& req, Extra extra) {
    std::u16string name;
    if (!extra.text(req.name_chars, name)) return call.malformed();
    auto type = sync_type(req.kind);
    if (!type || req.inherit != 0) return call.fail(Win32Error::ERROR_INVALID_PARAMETER);
    auto r = call.kernel.open_sync(call.caller, *type, name);
    if (!r) return call.fail(r.error());
    return call.ok(proto::SyncOpenReply{r.value().raw, 0});
}
std::string describe(const proto::SyncOpenRequest& req, Extra extra) {
    return "kind=" + to_string(req.kind) + " name=" + extra.quoted(req.name_chars);
}
std::string describe(const proto::SyncOpenReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::EventSetRequest& req, Extra) {
    return call.answer(call.kernel.set_event(call.caller, HandleValue{req.handle},
                                             static_cast<ce::EventOp>(req.op)),
                       proto::EventSetReply{});
}
std::string describe(const proto::EventSetRequest& req, Extra) {
    static constexpr const char* kOps[] = {"?", "set", "reset", "pulse"};
    return "handle=" + handle(req.handle) + " op=" + trace_text::choice(req.op, kOps);
}
std::string describe(const proto::EventSetReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::MutexReleaseRequest& req, Extra) {
    return call.answer(call.kernel.release_mutex(call.thread(), HandleValue{req.handle}),
                       proto::MutexReleaseReply{});
}
std::string describe(const proto::MutexReleaseRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::MutexReleaseReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::MutexWordRequest& req, Extra) {
    auto r = call.kernel.mutex_word(call.caller, HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    proto::MutexWordReply rep{0, 0, 0, -1, 0};
    if (const MutexObject* mutex = r.value()) {
        rep = proto::MutexWordReply{mutex->id(), mutex->word_dev(), mutex->word_ino(),
                                    mutex->word_fd(), 1};
        call.attach(mutex->word_fd(), mutex->word_dev(), mutex->word_ino());
    }
    return call.ok(rep);
}
std::string describe(const proto::MutexWordRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::MutexWordReply& rep, Extra) {
    return rep.available != 0 ? "mutex=" + to_string(rep.object_id) + " fd=" +
                                    to_string(rep.kernel_fd)
                              : std::string("no word");
}

size_t handle(Call& call, const proto::SemaphoreReleaseRequest& req, Extra) {
    auto r = call.kernel.release_semaphore(call.caller, HandleValue{req.handle}, req.count);
    if (!r) return call.fail(r.error());
    return call.ok(proto::SemaphoreReleaseReply{r.value(), 0});
}
std::string describe(const proto::SemaphoreReleaseRequest& req, Extra) {
    return "handle=" + handle(req.handle) + " count=" + to_string(req.count);
}
std::string describe(const proto::SemaphoreReleaseReply& rep, Extra) {
    return "previous=" + to_string(rep.previous);
}

size_t handle(Call& call, const proto::WaitObjectsRequest& req, Extra extra) {
    if (req.count == 0 || req.count > proto::kMaxWaitObjects ||
        uint64_t{req.count} * sizeof(uint32_t) > extra.size())
        return call.malformed();
    std::array<HandleValue, proto::kMaxWaitObjects> handles{};
    for (uint32_t i = 0; i < req.count; ++i) extra.take(handles[i].raw);
    auto r = call.kernel.wait(call.thread(), std::span(handles.data(), req.count),
                              req.wait_all != 0, req.timeout_ms, call.tag);
    if (!r) return Call::pending();  // the reply comes with the completion
    if (!*r) return call.fail(r->error());
    return call.ok(proto::WaitObjectsReply{r->value(), 0});
}
std::string describe(const proto::WaitObjectsRequest& req, Extra extra) {
    std::string out = "handles=";
    for (uint32_t i = 0; i < req.count && i < proto::kMaxWaitObjects; ++i) {
        uint32_t h = 0;
        if (!extra.take(h)) return out + "<truncated>";
        out += (i != 0 ? "," : "") + handle(h);
    }
    out += req.wait_all != 0 ? " all" : " any";
    return out + " timeout=" + trace_text::timeout(req.timeout_ms);
}
std::string describe(const proto::WaitObjectsReply& rep, Extra) { return hex(rep.result); }

}  // namespace cek::kernel::handlers
