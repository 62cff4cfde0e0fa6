// Requests on handles of any type: Null (a round trip), CloseHandle, DuplicateHandle.
// Rules: docs/semantics/handles.md.
#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

size_t handle(Call& call, const proto::NullRequest& req, Extra) {
    return call.ok(proto::NullReply{req.cookie});
}
std::string describe(const proto::NullRequest& req, Extra) { return "cookie=" + hex(req.cookie); }
std::string describe(const proto::NullReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::CloseHandleRequest& req, Extra) {
    return call.answer(call.kernel.close_handle(call.caller, HandleValue{req.handle}),
                       proto::CloseHandleReply{});
}
std::string describe(const proto::CloseHandleRequest& req, Extra) { return handle_argument(req); }
std::string describe(const proto::CloseHandleReply&, Extra) { return "TRUE"; }

size_t handle(Call& call, const proto::DuplicateRequest& req, Extra) {
    auto r = call.kernel.duplicate_handle(call.thread(), req.source_process,
                                          HandleValue{req.handle}, req.target_process,
                                          req.options, req.inherit != 0);
    if (!r) return call.fail(r.error());
    return call.ok(proto::DuplicateReply{r.value().raw, 0});
}
std::string describe(const proto::DuplicateRequest& req, Extra) {
    return "handle=" + handle(req.handle) + " options=" + hex(req.options);
}
std::string describe(const proto::DuplicateReply& rep, Extra) { return handle(rep.handle); }

}  // namespace cek::kernel::handlers
