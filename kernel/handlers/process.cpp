// Requests on processes. Rules: docs/semantics/processes.md.
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

size_t handle(Call& call, const proto::ProcessCreateRequest& req, Extra extra) {
    CreateProcessArgs args;
    if (!extra.name(req.has_image != 0, req.image_chars, args.image)) return call.malformed();
    if (req.command_chars == proto::kTextStaged) {
        auto staged = call.kernel.take_staged_text(call.thread(), proto::kStageCommandLine);
        if (!staged) return call.fail(staged.error());
        args.command_line = std::move(staged.value());
    } else if (!extra.text(req.command_chars, args.command_line)) {
        return call.malformed();
    }
    args.command_overflow = req.command_overflow != 0;
    args.inherit_handles = req.inherit != 0;
    args.flags = req.flags;
    args.environment = req.has_environment != 0;
    args.current_dir = req.has_current_dir != 0;
    auto r = call.kernel.create_process(call.thread(), args, call.tag);
    if (!r) return Call::pending();  // the reply comes once the program has attached
    if (!*r) return call.fail(r->error());
    const ProcessCreated& c = r->value();
    return call.ok(
        proto::ProcessCreateReply{c.process.raw, c.thread.raw, c.process_id, c.thread_id});
}
std::string describe(const proto::ProcessCreateRequest& req, Extra extra) {
    std::string out = "image=" + (req.has_image != 0 ? extra.quoted(req.image_chars) : "NULL");
    out += " command=" +
           (req.command_chars == proto::kTextStaged ? std::string("<staged>")
                                                    : extra.quoted(req.command_chars)) +
           " flags=" + hex(req.flags);
    if (req.inherit != 0) out += " inherit";
    if (req.has_environment != 0) out += " environment";
    if (req.has_current_dir != 0) out += " curdir";
    return out;
}
std::string describe(const proto::ProcessCreateReply& rep, Extra) {
    std::string out = "process=" + handle(rep.process) + " thread=" + handle(rep.thread);
    if (rep.process_id != rep.process || rep.thread_id != rep.thread)
        out += " ids=" + hex(rep.process_id) + "/" + hex(rep.thread_id);
    return out;
}

size_t handle(Call& call, const proto::ProcessOpenRequest& req, Extra) {
    auto r = req.thread != 0 ? call.kernel.open_thread(call.caller, req.id, req.inherit != 0)
                             : call.kernel.open_process(call.caller, req.id, req.inherit != 0);
    if (!r) return call.fail(r.error());
    return call.ok(proto::ProcessOpenReply{r.value().raw, 0});
}
std::string describe(const proto::ProcessOpenRequest& req, Extra) {
    return std::string(req.thread != 0 ? "thread" : "process") + " id=" + hex(req.id) +
           (req.inherit != 0 ? " inherit" : "");
}
std::string describe(const proto::ProcessOpenReply& rep, Extra) { return handle(rep.handle); }

size_t handle(Call& call, const proto::IdQueryRequest& req, Extra) {
    auto r = call.kernel.id_of_handle(call.thread(), HandleValue{req.handle},
                                      static_cast<ce::IdQuery>(req.query));
    if (!r) return call.fail(r.error());
    return call.ok(proto::IdQueryReply{r.value(), 0});
}
std::string describe(const proto::IdQueryRequest& req, Extra) {
    static constexpr const char* kQueries[] = {"?", "thread", "process", "process-of-thread"};
    return "handle=" + handle(req.handle) + " query=" + trace_text::choice(req.query, kQueries);
}
std::string describe(const proto::IdQueryReply& rep, Extra) { return hex(rep.id); }

size_t handle(Call& call, const proto::ProcessControlRequest& req, Extra) {
    const HandleValue h{req.handle};
    switch (static_cast<ce::ProcessOp>(req.op)) {
    case ce::ProcessOp::ExitCode: {
        auto r = call.kernel.process_exit_code(call.caller, h);
        if (!r) return call.fail(r.error());
        return call.ok(proto::ProcessControlReply{r.value(), 0});
    }
    case ce::ProcessOp::Terminate: {
        auto r = call.kernel.terminate_process(call.caller, h, req.code);
        if (!r) return call.fail(r.error());
        return call.ok(proto::ProcessControlReply{r.value() ? proto::kTerminatedCaller : 1u, 0});
    }
    case ce::ProcessOp::Exit:
        call.kernel.exit_process(call.caller, req.code);
        return call.ok(proto::ProcessControlReply{1, 0});
    }
    return call.fail(Win32Error::ERROR_INVALID_PARAMETER);
}
std::string describe(const proto::ProcessControlRequest& req, Extra) {
    static constexpr const char* kOps[] = {"?", "exit-code", "terminate", "exit"};
    return "process=" + handle(req.handle) + " op=" + trace_text::choice(req.op, kOps) +
           (req.op >= 2 ? " code=" + hex(req.code) : std::string());
}
std::string describe(const proto::ProcessControlReply& rep, Extra) { return hex(rep.value); }

}  // namespace cek::kernel::handlers
