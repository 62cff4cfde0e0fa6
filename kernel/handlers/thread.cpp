// Requests on threads. Rules: docs/semantics/threads.md.
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

namespace {

template <class Reply>
Reply state_reply(const ThreadState& s) {
    const uint32_t flags =
        (s.exited ? proto::kThreadGone : 0u) | (s.caller ? proto::kThreadIsCaller : 0u);
    return Reply{s.id, s.previous, s.count, s.sequence, s.tid, flags};
}

template <class Reply>
std::string state_text(const Reply& rep) {
    return "thread=" + handle(rep.handle) + " previous=" + to_string(rep.previous) +
           " count=" + to_string(rep.count) +
           ((rep.flags & proto::kThreadGone) != 0 ? " exited" : "") +
           ((rep.flags & proto::kThreadIsCaller) != 0 ? " self" : "");
}

}  // namespace

size_t handle(Call& call, const proto::ThreadCreateRequest& req, Extra) {
    auto r = call.kernel.create_thread(call.caller, req.flags, req.stack_size);
    if (!r) return call.fail(r.error());
    return call.ok(proto::ThreadCreateReply{r.value().handle.raw, r.value().id});
}
std::string describe(const proto::ThreadCreateRequest& req, Extra) {
    return "flags=" + hex(req.flags) + " stack=" + to_string(req.stack_size);
}
std::string describe(const proto::ThreadCreateReply& rep, Extra) {
    return handle(rep.handle) + (rep.id != rep.handle ? " id=" + hex(rep.id) : std::string());
}

size_t handle(Call& call, const proto::ThreadAttachRequest& req, Extra) {
    auto r = call.kernel.attach_thread(call.thread(), HandleValue{req.handle});
    if (!r) return call.fail(r.error());
    return call.ok(state_reply<proto::ThreadAttachReply>(r.value()));
}
std::string describe(const proto::ThreadAttachRequest& req, Extra) {
    return req.handle == 0 ? std::string("self") : "created=" + handle(req.handle);
}
std::string describe(const proto::ThreadAttachReply& rep, Extra) { return state_text(rep); }

size_t handle(Call& call, const proto::ThreadExitRequest& req, Extra) {
    call.kernel.exit_thread(call.thread(), req.exit_code);
    return call.ok(proto::ThreadExitReply{});
}
std::string describe(const proto::ThreadExitRequest& req, Extra) {
    return "code=" + hex(req.exit_code);
}
std::string describe(const proto::ThreadExitReply&, Extra) { return "done"; }

size_t handle(Call& call, const proto::ThreadControlRequest& req, Extra) {
    const HandleValue h{req.handle};
    Result<ThreadState> r = Win32Error::ERROR_INVALID_PARAMETER;
    switch (static_cast<ce::ThreadControlOp>(req.op)) {
    case ce::ThreadControlOp::Suspend:
        r = call.kernel.suspend_thread(call.thread(), h, call.tag);
        break;
    case ce::ThreadControlOp::Resume:
        r = call.kernel.resume_thread(call.thread(), h);
        break;
    case ce::ThreadControlOp::Terminate:
        r = call.kernel.terminate_thread(call.thread(), h, req.code, call.tag);
        break;
    case ce::ThreadControlOp::AwaitResume: {
        auto held = call.kernel.await_resume(call.thread(), call.tag);
        if (!held) return Call::pending();  // the reply comes with the resume
        r = std::move(*held);
        break;
    }
    }
    if (!r) return call.fail(r.error());
    if (r.value().deferred) return Call::pending();  // another process's agent stops it
    return call.ok(state_reply<proto::ThreadControlReply>(r.value()));
}
std::string describe(const proto::ThreadControlRequest& req, Extra) {
    static constexpr const char* kOps[] = {"?", "suspend", "resume", "terminate", "await-resume"};
    return "thread=" + handle(req.handle) + " op=" + trace_text::choice(req.op, kOps) +
           (req.op == 3 ? " code=" + hex(req.code) : std::string());
}
std::string describe(const proto::ThreadControlReply& rep, Extra) { return state_text(rep); }

size_t handle(Call& call, const proto::ThreadRemoteRequest& req, Extra) {
    switch (req.op) {
    case proto::kThreadRemoteTake: {
        auto r = call.kernel.take_remote_control(call.caller);
        if (!r) return call.fail(r.error());
        const RemoteControl& c = r.value();
        return call.ok(proto::ThreadRemoteReply{static_cast<uint32_t>(c.op), c.state.id,
                                                c.state.sequence, c.state.count, c.token, 0});
    }
    case proto::kThreadRemoteDone: {
        auto r = call.kernel.remote_control_done(call.caller, req.token);
        if (!r) return call.fail(r.error());
        return call.ok(proto::ThreadRemoteReply{});
    }
    default:
        return call.fail(Win32Error::ERROR_INVALID_PARAMETER);
    }
}
std::string describe(const proto::ThreadRemoteRequest& req, Extra) {
    static constexpr const char* kOps[] = {"?", "take", "done"};
    return trace_text::choice(req.op, kOps) +
           (req.op == proto::kThreadRemoteDone ? " token=" + to_string(req.token) : std::string());
}
std::string describe(const proto::ThreadRemoteReply& rep, Extra) {
    static constexpr const char* kOps[] = {"?", "suspend", "resume", "terminate"};
    if (rep.op == 0) return "TRUE";
    return trace_text::choice(rep.op, kOps) + " thread=" + handle(rep.id) + " count=" +
           to_string(rep.count) + " token=" + to_string(rep.token);
}

size_t handle(Call& call, const proto::ThreadQueryRequest& req, Extra) {
    const HandleValue h{req.handle};
    auto r = req.op == proto::kThreadExitCode
                 ? call.kernel.thread_exit_code(call.thread(), h)
                 : call.kernel.thread_priority(call.thread(), h,
                                               static_cast<ce::ThreadOp>(req.op), req.value);
    if (!r) return call.fail(r.error());
    return call.ok(proto::ThreadQueryReply{r.value(), 0});
}
std::string describe(const proto::ThreadQueryRequest& req, Extra) {
    static constexpr const char* kOps[] = {"?", "GetPriority", "SetPriority", "CeGetPriority",
                                           "CeSetPriority", "GetQuantum", "SetQuantum"};
    std::string op = req.op == proto::kThreadExitCode ? std::string("ExitCode")
                                                      : trace_text::choice(req.op, kOps);
    return "thread=" + handle(req.handle) + " op=" + op + " value=" + to_string(req.value);
}
std::string describe(const proto::ThreadQueryReply& rep, Extra) { return to_string(rep.value); }

}  // namespace cek::kernel::handlers
