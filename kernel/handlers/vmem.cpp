// Requests on huge reservations. Rules: docs/semantics/vmem.md.
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

size_t handle(Call& call, const proto::VmReserveRequest& req, Extra) {
    auto r = call.kernel.reserve_huge(call.caller, req.length);
    if (!r) return call.fail(r.error());
    return call.ok(proto::VmReserveReply{r->address, r->length});
}
std::string describe(const proto::VmReserveRequest& req, Extra) {
    return "size=" + to_string(req.length);
}
std::string describe(const proto::VmReserveReply& rep, Extra) {
    return hex(rep.address) + " size=" + to_string(rep.length);
}

size_t handle(Call& call, const proto::VmReleaseRequest& req, Extra) {
    auto r = call.kernel.release_huge(call.caller, req.address);
    if (!r) return call.fail(r.error());
    return call.ok(proto::VmReleaseReply{});
}
std::string describe(const proto::VmReleaseRequest& req, Extra) {
    return "address=" + hex(req.address);
}
std::string describe(const proto::VmReleaseReply&, Extra) { return "TRUE"; }

}  // namespace cek::kernel::handlers
