// StageText: texts too long for one request (registry paths, command lines), staged for the
// calling thread before the request that uses them (protocol/messages.h).
#include <string>

#include "kernel/handlers/handlers.h"

namespace cek::kernel::handlers {

size_t handle(Call& call, const proto::StageTextRequest& req, Extra extra) {
    std::u16string part;
    if (!extra.text(req.chars, part)) return call.malformed();
    auto r = call.kernel.stage_text(call.thread(), req.purpose, req.total, req.offset, part);
    if (!r) return call.fail(r.error());
    return call.ok(proto::StageTextReply{r.value(), 0});
}
std::string describe(const proto::StageTextRequest& req, Extra extra) {
    static constexpr const char* kPurposes[] = {"path", "command"};
    const char* purpose = req.purpose < std::size(kPurposes) ? kPurposes[req.purpose] : "?";
    return std::string(purpose) + " units=" + to_string(req.offset) + "+" + to_string(req.chars) +
           "/" + to_string(req.total) + " part=" + extra.quoted(req.chars);
}
std::string describe(const proto::StageTextReply& rep, Extra) {
    return "staged=" + to_string(rep.staged);
}

}  // namespace cek::kernel::handlers
